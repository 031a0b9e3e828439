// The app every bundler builds (test/bundlers/build.mjs): a runtime on the backend the URL
// names (?backend=wasm), the graph-mlp fixture from ./model/, one run on the fixture's
// inputs. The result goes to window.result and to #out's data-done / data-error.
export async function run(createRuntime) {
  const out = document.createElement('pre');
  out.id = 'out';
  out.dataset.testid = 'result';
  out.textContent = 'loading…';
  document.body.append(out);
  const backend = new URLSearchParams(location.search).get('backend') ?? 'wasm';
  try {
    const rt = await createRuntime({ backends: [backend] });
    const expected = await (await fetch('./model/expected.json')).json();
    const model = await rt.load({ url: './model/model.json' });
    const inputs = {};
    for (const [name, t] of Object.entries(expected.inputs)) inputs[name] = { data: Float32Array.from(t.data), shape: t.shape };
    const res = await model.run(inputs);
    const outputs = {};
    for (const [name, t] of Object.entries(res)) outputs[name] = { data: Array.from(t.data), shape: t.shape };
    window.result = { backend: rt.backend, crossOriginIsolated: globalThis.crossOriginIsolated === true, outputs, expected: expected.outputs };
    out.textContent = `ran on ${rt.backend}`;
    out.dataset.done = 'true';
    await rt.terminate();
  } catch (e) {
    out.textContent = `${e.name} ${e.code ?? ''}: ${e.message}`;
    out.dataset.error = e.code ?? e.name;
  }
}
