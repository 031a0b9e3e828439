// The demo's batch labels (examples/demo/labels.js): class names from file names and
// labels CSVs. The metrics are the library's and are tested with it.
import { describe, expect, it } from 'vitest';
// @ts-ignore: plain ESM module of the demo
import { labelFromFileName, parseLabelsCsv } from '../../examples/demo/labels.js';

describe('labels from names and CSV', () => {
  const classes = ['circle', 'square', 'star'];

  it('reads the class from a file name or its folder', () => {
    expect(labelFromFileName('star_017.png', classes)).toBe(2);
    expect(labelFromFileName('Square-3.PNG', classes)).toBe(1);
    expect(labelFromFileName('circle.png', classes)).toBe(0);
    expect(labelFromFileName('samples/circle/0001.png', classes)).toBe(0);
    expect(labelFromFileName('photo_017.png', classes)).toBe(-1);
    expect(labelFromFileName('starfish_1.png', classes)).toBe(-1);
    expect(labelFromFileName('star_red_017.png', classes)).toBe(2);
    expect(labelFromFileName('star_red_017.png', ['blue', 'red'])).toBe(1);
    expect(labelFromFileName('big-star_3.png', ['star', 'big-star'])).toBe(1);
  });

  it('parses file,label rows with a header, names, indices, quotes and -1', () => {
    const csv = '\uFEFFfile,label\r\nstar_001.png,star\n"a, b.png",1\nx.png,-1\ny.png,\nz.png,hexagon\nsub/w.png,0\n';
    const { columns, rows, unknown } = parseLabelsCsv(csv, classes);
    expect(columns).toEqual(['label']);
    expect(rows.get('star_001.png')).toEqual({ label: 2 });
    expect(rows.get('a, b.png')).toEqual({ label: 1 });
    expect(rows.get('x.png')).toEqual({ label: -1 });
    expect(rows.get('y.png')).toEqual({ label: -1 });
    expect(rows.get('z.png')).toEqual({ label: -1 });
    expect(rows.get('w.png')).toEqual({ label: 0 });
    expect(unknown).toBe(1);
  });

  it('reads a headerless CSV and one with several label columns', () => {
    expect(parseLabelsCsv('a.png,2\nb.png,circle', classes).rows.get('b.png')).toEqual({ label: 0 });
    const multi = parseLabelsCsv('file,shape,color\na.png,star,red\nb.png,-1,blue', { shape: classes, color: ['red', 'blue'] });
    expect(multi.columns).toEqual(['shape', 'color']);
    expect(multi.rows.get('a.png')).toEqual({ shape: 2, color: 0 });
    expect(multi.rows.get('b.png')).toEqual({ shape: -1, color: 1 });
  });

  it('prefers a class name over an index when names are digits', () => {
    expect(parseLabelsCsv('a.png,5', ['3', '5']).rows.get('a.png')).toEqual({ label: 1 });
    expect(parseLabelsCsv('a.png,1', ['3', '5']).rows.get('a.png')).toEqual({ label: 1 });
  });
});
