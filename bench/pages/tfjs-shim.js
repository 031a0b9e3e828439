// nsfwjs's ESM build imports "@tensorflow/tfjs"; this hands it the raw tfjs of the page
// (the UMD global, with the wasm and webgpu backends registered), so nsfwjs runs on
// the same backends as everything else here. Only the names nsfwjs uses.
const tf = globalThis.tf;
export const { Tensor, browser, image, loadGraphModel, loadLayersModel, model, scalar, tidy, zeros } = tf;
export default tf;
