// The inpage worker, started from this folder. It only imports the library's worker
// bundle; being here puts the worker in the service worker's scope (./), so what the
// worker fetches (the model, the tfjs WASM binaries) is served from cache when offline.
// Passed to inpage as createRuntime({ workerUrl: new URL('./worker.js', import.meta.url) }).
import '../../dist/inpage.worker.js';
