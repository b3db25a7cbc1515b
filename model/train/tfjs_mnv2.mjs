// tfjs_mnv2.mjs: the pretrained MobileNetV2 from npm nsfwjs@4.4.0 (MIT, Infinite Red), as files the
// PyTorch converter (mnv2.py) reads, and a reference forward pass through TF.js for its test.
//
//   node tfjs_mnv2.mjs dump --out DIR
//       DIR/model.json + DIR/weights.bin: the TF.js layers format, bytes as nsfwjs ships them
//       (uint8-affine quantized; mnv2.py dequantizes). nsfwjs wraps both in UMD modules.
//   node tfjs_mnv2.mjs run --model DIR --layer NAME --size S --n N --in X.f32 --out Y.f32
//       X: N x S x S x 3 float32 (NHWC, x/255 as nsfwjs feeds it); Y: the layer's NHWC output.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';

const require = createRequire(import.meta.url);

function args(argv) {
  const a = {};
  for (let i = 0; i < argv.length; i += 2) {
    if (!argv[i].startsWith('--') || i + 1 >= argv.length) throw new Error(`bad argument ${argv[i]}`);
    a[argv[i].slice(2)] = argv[i + 1];
  }
  return a;
}

function dump(a) {
  // nsfwjs's "exports" hides its files from require.resolve; they sit in the package folder.
  const dir = path.join(path.dirname(new URL(import.meta.url).pathname), '../../node_modules/nsfwjs');
  const m = require(path.join(dir, 'dist/models/mobilenet_v2/model.min.js'));
  const shard = require(path.join(dir, 'dist/models/mobilenet_v2/group1-shard1of1.min.js'));
  if (typeof shard !== 'string') throw new Error('nsfwjs shard: expected one base64 string');
  const bytes = Buffer.from(shard, 'base64');
  const weights = m.weightsManifest.flatMap((g) => g.weights);
  fs.mkdirSync(a.out, { recursive: true });
  fs.writeFileSync(path.join(a.out, 'weights.bin'), bytes);
  const version = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'))).version;
  fs.writeFileSync(path.join(a.out, 'model.json'), JSON.stringify({
    format: 'layers-model', generatedBy: `nsfwjs@${version} via tfjs_mnv2.mjs`,
    modelTopology: m.modelTopology, weightsManifest: [{ paths: ['weights.bin'], weights }],
  }));
  console.log(`dump: ${weights.length} tensors, ${bytes.length} bytes, nsfwjs@${version} -> ${a.out}`);
}

// truncated keeps the layers up to `layer` (the Keras graph is in topological order) at size x size.
function truncated(model, layer, size) {
  const topo = structuredClone(model.modelTopology);
  const cfg = topo.model_config.config;
  const end = cfg.layers.findIndex((l) => l.config.name === layer);
  if (end < 0) throw new Error(`no layer ${layer}`);
  cfg.layers = cfg.layers.slice(0, end + 1);
  cfg.layers[0].config.batch_input_shape = [null, size, size, 3];
  cfg.output_layers = [[layer, 0, 0]];
  const kept = new Set(cfg.layers.map((l) => l.config.name));
  return { topo, kept };
}

async function run(a) {
  const tf = require('@tensorflow/tfjs');
  require('@tensorflow/tfjs-backend-wasm');
  await tf.setBackend('wasm');
  const model = JSON.parse(fs.readFileSync(path.join(a.model, 'model.json')));
  const data = fs.readFileSync(path.join(a.model, 'weights.bin'));
  const size = Number(a.size), n = Number(a.n);
  const { topo, kept } = truncated(model, a.layer, size);
  // Keep only the kept layers' weights, slicing the shard by each spec's byte size.
  const specs = model.weightsManifest[0].weights;
  let off = 0;
  const keptSpecs = [], parts = [];
  for (const s of specs) {
    const len = s.shape.reduce((p, d) => p * d, 1) * (s.quantization ? 1 : 4);
    if (kept.has(s.name.split('/')[0])) {
      keptSpecs.push(s);
      parts.push(data.subarray(off, off + len));
    }
    off += len;
  }
  if (off !== data.length) throw new Error(`weights: specs cover ${off} of ${data.length} bytes`);
  const buf = Buffer.concat(parts);
  const weightData = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length);
  const m = await tf.loadLayersModel({ load: async () => ({ modelTopology: topo, weightSpecs: keptSpecs, weightData }) });
  const raw = fs.readFileSync(a.in);
  const x = tf.tensor4d(new Float32Array(raw.buffer, raw.byteOffset, raw.length / 4), [n, size, size, 3]);
  const y = m.predict(x);
  fs.writeFileSync(a.out, Buffer.from((await y.data()).buffer));
  console.log(`run: ${a.layer} ${JSON.stringify(y.shape)} on ${tf.getBackend()}`);
}

const [cmd, ...rest] = process.argv.slice(2);
const a = args(rest);
if (cmd === 'dump') dump(a);
else if (cmd === 'run') await run(a);
else { console.error('usage: tfjs_mnv2.mjs dump --out DIR | run --model DIR --layer NAME --size S --n N --in X --out Y'); process.exit(2); }
