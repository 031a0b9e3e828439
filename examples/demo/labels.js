/**
 * Labels of a batch: from a labels CSV or from file names. No DOM here, so vitest checks
 * it in node (test/unit/demo-labels.test.ts). The metrics themselves are the library's
 * (`model.evaluate`, `model.calibrate`).
 *
 * Classes are indices 0..k-1; -1 means "unlabelled".
 * @module
 */

/**
 * The class named by a file's name, compared case-insensitively with `classes`: the whole
 * stem, then the stem without a trailing number, then each part between `_`, `-`, `.`,
 * spaces and digits, first match wins; the class index, or -1 when none matches.
 * A folder name works too: `circle/017.png` gives `circle`.
 * @param {string} path a file name or a relative path (`webkitRelativePath`)
 * @param {readonly string[]} classes class names by index
 * @returns {number}
 */
export function labelFromFileName(path, classes) {
  const lower = classes.map((c) => String(c).toLowerCase());
  const parts = String(path).split(/[\\/]/).filter(Boolean);
  const file = parts.pop() ?? '';
  const stem = file.replace(/\.[^.]*$/, '').toLowerCase();
  // "star_017" -> "star"; "big-star_3" is tried whole before its parts; "star_red_017"
  // gives "star" to a shape head and "red" to a colour head.
  const candidates = [stem, stem.replace(/[_\-\s.]*\d+$/, ''), ...stem.split(/[_\-\s.\d]+/)];
  for (const c of candidates) {
    const i = lower.indexOf(c);
    if (c && i >= 0) return i;
  }
  const folder = parts.pop();
  if (folder) {
    const i = lower.indexOf(folder.toLowerCase());
    if (i >= 0) return i;
  }
  return -1;
}

/** Splits one CSV line, with "quoted, fields" and "" as an escaped quote. */
function splitCsvLine(line) {
  const out = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out.map((s) => s.trim());
}

/**
 * Reads a labels CSV: a header naming a `file` column (also `filename`, `name`, `path`)
 * and one or more label columns, or no header and `file,label` rows.
 * A label is a class name or a class index; `-1` or an empty cell is "unlabelled" (-1).
 * A name that is not a class is kept as -1 too and counted in `unknown`.
 * @param {string} text the CSV's text
 * @param {readonly string[] | Record<string, readonly string[]>} classes class names;
 *   for several label columns, an object of class names per column (`{ shape: [...], color: [...] }`)
 * @returns {{ columns: string[], rows: Map<string, Record<string, number>>, unknown: number }}
 *   `rows` maps a file's base name to its label index per column (`label` for a
 *   headerless or single-label CSV)
 */
export function parseLabelsCsv(text, classes) {
  const lines = String(text).replace(/^\uFEFF/, '').split(/\r?\n/).filter((l) => l.trim() !== '');
  const rows = new Map();
  let unknown = 0;
  if (lines.length === 0) return { columns: [], rows, unknown };
  const first = splitCsvLine(lines[0]).map((h) => h.toLowerCase());
  const fileNames = ['file', 'filename', 'name', 'path', 'image'];
  const hasHeader = first.some((h) => fileNames.includes(h));
  const fileCol = hasHeader ? first.findIndex((h) => fileNames.includes(h)) : 0;
  const columns = hasHeader ? first.filter((_, i) => i !== fileCol) : ['label'];
  const classesFor = (col) => (Array.isArray(classes) ? classes : classes[col] ?? classes.label ?? []);
  for (const line of hasHeader ? lines.slice(1) : lines) {
    const cells = splitCsvLine(line);
    const file = cells[fileCol];
    if (!file) continue;
    const labels = {};
    const valueCells = cells.filter((_, i) => i !== fileCol);
    columns.forEach((col, j) => {
      const raw = valueCells[j] ?? '';
      const names = classesFor(col);
      let y = -1;
      if (raw !== '' && raw !== '-1') {
        // A class name first (names may be digits, as in MNIST), then a class index.
        y = names.findIndex((n) => String(n).toLowerCase() === raw.toLowerCase());
        if (y < 0 && /^\d+$/.test(raw) && (names.length === 0 || Number(raw) < names.length)) y = Number(raw);
        if (y < 0) unknown++;
      }
      labels[col] = y;
    });
    rows.set(baseName(file), labels);
  }
  return { columns, rows, unknown };
}

/** The last part of a path. */
export function baseName(path) {
  const parts = String(path).split(/[\\/]/);
  return parts[parts.length - 1] ?? '';
}
