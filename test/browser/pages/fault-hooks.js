// Fault tests only: records the WebGL contexts and WebGPU devices made in this worker, so a
// test can lose them (WEBGL_lose_context, device.destroy()) from Playwright's worker.evaluate.
self.__gl = [];
self.__gpu = [];
if (self.OffscreenCanvas) {
  const getContext = OffscreenCanvas.prototype.getContext;
  OffscreenCanvas.prototype.getContext = function (...args) {
    const ctx = getContext.apply(this, args);
    if (ctx && /webgl/.test(String(args[0]))) self.__gl.push(ctx);
    return ctx;
  };
}
if (self.GPUAdapter) {
  const requestDevice = GPUAdapter.prototype.requestDevice;
  GPUAdapter.prototype.requestDevice = async function (...args) {
    const device = await requestDevice.apply(this, args);
    self.__gpu.push(device);
    return device;
  };
}
