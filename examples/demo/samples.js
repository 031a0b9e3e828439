/** The demo's shipped sample images (made by scripts/train-demo.mjs), fetched as Files. */
import { parseLabelsCsv } from './labels.js';

/**
 * The images of a sample folder listed in its labels.csv, and the CSV itself, as Files
 * (what a visitor choosing the folder would give the page).
 * @param {string} folder `samples`, `samples-hard` or `samples-reference`
 * @param {(name: string, index: number) => boolean} [keep] which images to take
 */
export async function sampleFiles(folder, keep = () => true) {
  const base = new URL(`./${folder}/`, import.meta.url);
  const csvText = await (await fetch(new URL('labels.csv', base))).text();
  const names = [...parseLabelsCsv(csvText, []).rows.keys()].filter(keep);
  const files = await Promise.all(names.map(async (name) => {
    const r = await fetch(new URL(name, base));
    if (!r.ok) throw new Error(`${folder}/${name}: HTTP ${r.status}`);
    return new File([await r.blob()], name, { type: 'image/png' });
  }));
  return [...files, new File([csvText], 'labels.csv', { type: 'text/csv' })];
}
