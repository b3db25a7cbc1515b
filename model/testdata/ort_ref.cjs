// Reference outputs from onnxruntime-node for the test networks.
// Run from this folder: node ort_ref.cjs [NAME...]  (reads NAME.onnx + NAME.in.f32, writes
// NAME.ort.f32; all test networks when no name is given).
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require(path.join(__dirname, '../../node_modules/onnxruntime-node'));

async function main() {
  const names = process.argv.length > 2 ? process.argv.slice(2) : ['ops', 'hswish', 'gorgonnx', 'mnv2', 'branches'];
  for (const name of names) {
    const sess = await ort.InferenceSession.create(`${name}.onnx`);
    const buf = fs.readFileSync(`${name}.in.f32`);
    const data = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
    const side = Math.round(Math.sqrt(data.length / 3));
    const input = new ort.Tensor('float32', data, [1, 3, side, side]);
    const out = await sess.run({ [sess.inputNames[0]]: input });
    const y = out[sess.outputNames[0]].data;
    fs.writeFileSync(`${name}.ort.f32`, Buffer.from(y.buffer, y.byteOffset, y.byteLength));
    console.log(name, y.length, Array.from(y.slice(0, 4)));
  }
}
main().catch((e) => { console.error(e); process.exit(1); });
