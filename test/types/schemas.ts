// Type tests of schemas written by `inpage types` (test/types/schemas/*.ts, kept equal to
// the command's output by test/unit/cli.test.ts): `runtime.load<XSchema>` types run's
// inputs and outputs, and `labels` types prediction labels. `@ts-expect-error` lines must stay errors.
import { createRuntime, type LabelOf, type Prediction, type TensorData } from 'inpage';
import type { AntispoofSchema } from './schemas/antispoof.js';
import type { DemoSchema } from './schemas/demo.js';
import type { EmotionSchema } from './schemas/emotion.js';
import type { FaceboxesSchema } from './schemas/faceboxes.js';
import type { GraphTwoIoSchema } from './schemas/graph-two-io.js';
import type { LayersMultiSchema } from './schemas/layers-multi.js';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function assertType<T extends true>(_: T): void {}

const x: TensorData = { data: new Float32Array(4), shape: [1, 4] };

export async function schemas(): Promise<void> {
  const rt = await createRuntime();

  const emotion = await rt.load<EmotionSchema>({ url: '/models/emotion.json' });
  const e = await emotion.run({ 'input_1:0': x });
  assertType<Equal<keyof typeof e, 'Identity:0'>>(true);
  await emotion.run(x);
  // @ts-expect-error: not an input of emotion
  await emotion.run({ input_1: x });
  // @ts-expect-error: not an output of emotion
  void e.logits;
  // No labels in the schema: labels are any string.
  const ep = await emotion.predict(x);
  assertType<Equal<typeof ep.label, string | null>>(true);

  const faces = await rt.load<FaceboxesSchema>({ url: '/models/faceboxes.json' });
  const f = await faces.run({ image_tensor: x });
  assertType<Equal<keyof typeof f, 'scores' | 'boxes' | 'num_boxes'>>(true);
  // @ts-expect-error: not an output of faceboxes
  void f.classes;

  const spoof = await rt.load<AntispoofSchema>({ url: '/models/antispoof.json' });
  const s = await spoof.run({ conv2d_input: x });
  assertType<Equal<keyof typeof s, 'activation_4'>>(true);
  // @ts-expect-error: the signature key, not the node name
  await spoof.run({ 'conv2d_input:0': x });

  const two = await rt.load<GraphTwoIoSchema>({ url: '/fixtures/graph-two-io/model.json' });
  const t = await two.run({ a: x, b: x });
  assertType<Equal<keyof typeof t, 'sum' | 'prod'>>(true);
  // @ts-expect-error: input b is missing
  await two.run({ a: x });

  const multi = await rt.load<LayersMultiSchema>({ url: '/fixtures/layers-multi/model.json' });
  const m = await multi.run({ features: x });
  assertType<Equal<keyof typeof m, 'kind' | 'score'>>(true);

  // A label union from --labels: prediction labels are typed, batch answers too.
  const demo = await rt.load<DemoSchema>({ url: '/model/model.json' });
  const p = await demo.predict(x);
  assertType<Equal<typeof p.label, DemoSchema['labels'] | null>>(true);
  assertType<Equal<LabelOf<DemoSchema>, 'circle' | 'square' | 'triangle' | 'cross' | 'star'>>(true);
  const top: 'circle' | 'square' | 'triangle' | 'cross' | 'star' | null | undefined = p.topK[0]?.label;
  void top;
  // @ts-expect-error: not a class of the demo model
  if (p.label === 'hexagon') void p;
  const batch: Prediction<DemoSchema['labels']>[] = await demo.predictBatch([x, x]);
  // @ts-expect-error: not a class of the demo model
  if (batch[0]?.label === 'hexagon') void batch;
  // A labelled prediction is still a Prediction.
  const plain: Prediction = p;
  void plain;
}
