// Micro-benchmark of the TextTransform hot functions on the text scenario's strings (npm run build first).
//   node bench/text-transform.mjs
import { codePointLength, pythonTitle, reverseCodePoints } from '../dist/nodes/basic/text-transform.js';

const strings = Array.from(
  { length: 100 },
  (_, i) => `ITEM ${i}: THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG`,
);
const fns = {
  reverse: reverseCodePoints,
  title: pythonTitle,
  length: codePointLength,
  uppercase: (s) => s.toUpperCase(),
};
for (const [name, f] of Object.entries(fns)) {
  let sink = 0;
  for (let i = 0; i < 2e5; i++) sink += String(f(strings[i % 100])).length;
  const t = process.hrtime.bigint();
  for (let i = 0; i < 1e6; i++) sink += String(f(strings[i % 100])).length;
  console.log(
    `${name.padEnd(10)} ${(Number(process.hrtime.bigint() - t) / 1e6).toFixed(0)} ns per 52-char string (${sink > 0})`,
  );
}
