// Writes the request bodies of the embeddings suite: texts.jsonl (400 bodies, one text each) and
// batch-texts.jsonl (100 bodies of 8 texts each), in the OpenAI embeddings shape
// {"input": ..., "model": "minilm-l6-arch"}. The texts read like English (product reviews, support questions,
// news) and come in three lengths, as an embeddings service sees them: search queries of 3-8 words (40%),
// sentences of 10-30 words (40%) and paragraphs of 60-200 words (20%). Everything is drawn from word lists
// and templates with the project's seeded PRNG (mulberry32), so the files are the same bytes on every run.
//   node make-texts.mjs [--seed N] [--count 400] [--batches 100] [--batch-size 8] [--out DIR]
// It imports the PRNG from dist/, so run `npx tsc -p tsconfig.json` first.
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { seededRandom } from '../../../dist/lab/stats.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const MODEL = 'minilm-l6-arch';

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}

const SEED = Number(arg('seed', 20250101));
const COUNT = Number(arg('count', 400));
const BATCHES = Number(arg('batches', 100));
const BATCH_SIZE = Number(arg('batch-size', 8));
const OUT = arg('out', HERE);

const rand = seededRandom(SEED);
const pick = (list) => list[Math.floor(rand() * list.length)];
const int = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1));
const chance = (p) => rand() < p;
const cap = (s) => s.charAt(0).toUpperCase() + s.slice(1);
const wordCount = (s) => s.split(/\s+/).filter(Boolean).length;

// ---------------------------------------------------------------------------------------------------------------
// Word lists

const W = {
  product: [
    'wireless headphones',
    'laptop',
    'coffee maker',
    'running shoes',
    'backpack',
    'phone case',
    'desk lamp',
    'vacuum cleaner',
    'air fryer',
    'smart watch',
    'office chair',
    'blender',
    'electric kettle',
    'rain jacket',
    'bluetooth speaker',
    'mechanical keyboard',
    'monitor',
    'water bottle',
    'tent',
    'router',
    'tablet',
    'hair dryer',
    'camera',
    'winter boots',
    'mattress',
    'standing desk',
    'toaster',
    'dishwasher',
    'printer',
    'gaming mouse',
    'fitness tracker',
    'sleeping bag',
    'frying pan',
    'car seat',
    'baby monitor',
    'robot vacuum',
  ],
  feature: [
    'battery life',
    'sound quality',
    'build quality',
    'screen',
    'price',
    'design',
    'customer service',
    'setup process',
    'noise level',
    'weight',
    'fit',
    'charging speed',
    'app',
    'instruction manual',
    'color',
    'material',
    'handle',
    'cable',
    'zipper',
    'display',
    'speed',
    'packaging',
    'warranty',
    'remote control',
  ],
  posAdj: [
    'excellent',
    'great',
    'solid',
    'impressive',
    'reliable',
    'comfortable',
    'easy to use',
    'well made',
    'surprisingly good',
    'better than expected',
    'fantastic',
    'very quiet',
    'sturdy',
    'lightweight',
  ],
  negAdj: [
    'disappointing',
    'cheap',
    'flimsy',
    'too loud',
    'confusing',
    'slow',
    'uncomfortable',
    'overpriced',
    'poorly designed',
    'hard to clean',
    'unreliable',
    'heavier than expected',
    'a bit fragile',
  ],
  person: [
    'wife',
    'husband',
    'son',
    'daughter',
    'mother',
    'father',
    'friend',
    'partner',
    'team',
    'office',
    'kids',
  ],
  duration: [
    'two days',
    'a week',
    'three weeks',
    'a month',
    'six months',
    'a year',
    'two years',
    'a few hours',
  ],
  use: [
    'travel',
    'working from home',
    'the gym',
    'long flights',
    'small apartments',
    'students',
    'gaming',
    'hiking',
    'cooking',
    'daily use',
    'beginners',
    'video calls',
    'a home office',
    'camping',
    'running',
  ],
  device: [
    'phone',
    'laptop',
    'tablet',
    'router',
    'printer',
    'smart watch',
    'account',
    'computer',
    'television',
  ],
  action: [
    'reset my password',
    'change my email address',
    'cancel my subscription',
    'update the firmware',
    'connect to wifi',
    'export my data',
    'delete my account',
    'pair a new device',
    'download my invoice',
    'change the language',
    'turn on two factor authentication',
    'restore a backup',
    'add a user',
    'return an order',
    'track my package',
    'apply a discount code',
    'change my billing address',
  ],
  problem: [
    'shutting down',
    'losing the connection',
    'freezing',
    'asking for my password',
    'running slowly',
    'showing an error',
    'draining the battery',
    'crashing on startup',
    'making a clicking noise',
    'failing to sync',
    'disconnecting from bluetooth',
    'overheating',
  ],
  error: ['error 403', 'a blank screen', 'a timeout message', 'error code 502', 'an invalid token message'],
  place: [
    'the city council',
    'the national weather service',
    'the central bank',
    'the school board',
    'the state',
    'the health department',
    'the transport authority',
    'the ministry of energy',
    'the university',
    'local police',
    'the regional hospital',
    'the port authority',
  ],
  city: [
    'Boston',
    'Denver',
    'Seattle',
    'Chicago',
    'Austin',
    'Portland',
    'Toronto',
    'Dublin',
    'Melbourne',
    'Oslo',
    'Lisbon',
    'Madrid',
    'Berlin',
    'Atlanta',
    'Phoenix',
    'Vancouver',
  ],
  day: ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'],
  month: ['January', 'March', 'April', 'June', 'September', 'October', 'the end of the year', 'next spring'],
  newsVerb: [
    'approved a plan to build',
    'announced funding for',
    'delayed the opening of',
    'voted to expand',
    'will review',
    'has closed',
    'plans to replace',
    'confirmed the sale of',
    'warned of delays to',
  ],
  newsThing: [
    'new bus routes',
    'a public library',
    'the main bridge',
    'two schools',
    'a water treatment plant',
    'affordable housing units',
    'bike lanes',
    'a solar farm',
    'the downtown station',
    'a community park',
    'the airport terminal',
    'a new hospital wing',
  ],
  newsReason: [
    'rising costs',
    'strong public support',
    'safety concerns',
    'a shortage of workers',
    'heavy rain',
    'a budget surplus',
    'growing demand',
    'an independent report',
    'pressure from residents',
  ],
  official: ['the mayor', 'a spokesperson', 'the director', 'the governor', 'a senior engineer', 'the chair'],
  weather: ['heavy snow', 'strong winds', 'a heat wave', 'flooding', 'thunderstorms', 'dense fog'],
  price: ['50 dollars', '100 dollars', '200 dollars', '500 dollars', '30 euros', '1000 dollars'],
};

// ---------------------------------------------------------------------------------------------------------------
// Templates: each returns one sentence (or one query) of a genre.

const QUERY = [
  () => `best ${pick(W.product)} for ${pick(W.use)}`,
  () => `${pick(W.product)} ${pick(W.feature)} review`,
  () => `how to ${pick(W.action)}`,
  () => `${pick(W.device)} keeps ${pick(W.problem)}`,
  () => `cheap ${pick(W.product)} under ${pick(W.price)}`,
  () => `${pick(W.city)} ${pick(W.weather)} warning`,
  () => `why is my ${pick(W.device)} ${pick(W.problem)}`,
  () => `${pick(W.product)} vs ${pick(W.product)}`,
  () => `${pick(W.city)} ${pick(W.newsThing).replace(/^(the|a|an|two) /, '')} news`,
  () => `can i ${pick(W.action)} without logging in`,
  () => `${pick(W.posAdj)} ${pick(W.product)} with good ${pick(W.feature)}`,
  () => `${pick(W.product)} warranty claim`,
];

const REVIEW = [
  () =>
    `I bought the ${pick(W.product)} for my ${pick(W.person)} ${pick(W.duration)} ago and the ${pick(W.feature)} is ${pick(W.posAdj)}.`,
  () =>
    `The ${pick(W.feature)} is ${pick(W.posAdj)}, but the ${pick(W.feature)} is ${pick(W.negAdj)} for the price.`,
  () =>
    `After ${pick(W.duration)} of ${pick(W.use)}, the ${pick(W.product)} still works, although the ${pick(W.feature)} feels ${pick(W.negAdj)}.`,
  () =>
    `Honestly the ${pick(W.feature)} is ${pick(W.negAdj)}, and I would not buy this ${pick(W.product)} again.`,
  () =>
    `Great value for ${pick(W.use)}: the ${pick(W.feature)} is ${pick(W.posAdj)} and it arrived two days early.`,
  () =>
    `We have used this ${pick(W.product)} every day for ${pick(W.duration)} and I have no complaints about the ${pick(W.feature)}.`,
  () =>
    `Customer service replaced my ${pick(W.product)} within ${pick(W.duration)} when the ${pick(W.feature)} stopped working.`,
  () =>
    `Five stars for the ${pick(W.feature)}, one star for the ${pick(W.feature)}, which is ${pick(W.negAdj)} and needs a better design.`,
  () =>
    `If you need something for ${pick(W.use)}, this ${pick(W.product)} is ${pick(W.posAdj)}, but check the ${pick(W.feature)} before you order.`,
];

const SUPPORT = [
  () => `How do I ${pick(W.action)} on my ${pick(W.device)} if I no longer have access to my old email?`,
  () =>
    `My ${pick(W.device)} keeps ${pick(W.problem)} since the last update, and restarting it does not help.`,
  () =>
    `When I try to ${pick(W.action)}, the page shows ${pick(W.error)} and then sends me back to the home screen.`,
  () => `Is there a way to ${pick(W.action)} for the whole team at once instead of doing it for every user?`,
  () =>
    `I was charged twice this month, so could you please check my billing history and refund the second payment?`,
  () =>
    `The ${pick(W.product)} I ordered ${pick(W.duration)} ago has not arrived yet, and the tracking number does not work.`,
  () =>
    `Can you tell me why my ${pick(W.device)} started ${pick(W.problem)} after I tried to ${pick(W.action)}?`,
  () =>
    `I followed the steps in the help article to ${pick(W.action)}, but nothing happens when I press the save button.`,
];

const NEWS = [
  () =>
    `${cap(pick(W.place))} in ${pick(W.city)} ${pick(W.newsVerb)} ${pick(W.newsThing)} on ${pick(W.day)}, citing ${pick(W.newsReason)}.`,
  () =>
    `Officials in ${pick(W.city)} said the work on ${pick(W.newsThing)} should be finished by ${pick(W.month)}.`,
  () =>
    `${cap(pick(W.official))} told reporters that ${pick(W.newsReason)} had forced the team to change its plans.`,
  () =>
    `Residents of ${pick(W.city)} were told to stay at home on ${pick(W.day)} as ${pick(W.weather)} moved across the region.`,
  () =>
    `The project, which will cost about ${int(2, 90)} million dollars, is expected to create ${int(50, 900)} jobs over the next ${int(2, 10)} years.`,
  () =>
    `According to ${pick(W.place)}, ${int(10, 95)} percent of people surveyed supported the plan for ${pick(W.newsThing)}.`,
  () =>
    `${cap(pick(W.weather))} closed several roads near ${pick(W.city)} on ${pick(W.day)} morning, and schools opened two hours late.`,
  () =>
    `${cap(pick(W.official))} of ${pick(W.place)} said a decision on ${pick(W.newsThing)} would come after ${pick(W.month)}.`,
];

const GENRES = [REVIEW, SUPPORT, NEWS];

function query() {
  for (;;) {
    const q = pick(QUERY)();
    const n = wordCount(q);
    if (n >= 3 && n <= 8) return q;
  }
}

/** One sentence of 10-30 words; two short ones of a genre are sometimes joined. */
function sentence(genre = pick(GENRES)) {
  for (;;) {
    let s = pick(genre)();
    if (chance(0.25)) s = `${s} ${pick(genre)()}`;
    const n = wordCount(s);
    if (n >= 10 && n <= 30) return s;
  }
}

/** A paragraph of 60-200 words: sentences of one genre until a target length drawn in that range. */
function paragraph() {
  const genre = pick(GENRES);
  const target = int(60, 200);
  const parts = [];
  let n = 0;
  while (n < target) {
    const s = pick(genre)();
    if (n + wordCount(s) > 200) break;
    parts.push(s);
    n += wordCount(s);
  }
  if (n < 60) return paragraph();
  return parts.join(' ');
}

/** 40% queries, 40% sentences, 20% paragraphs, in a shuffled order. */
function texts(count) {
  const kinds = [];
  const nQuery = Math.round(count * 0.4);
  const nPara = Math.round(count * 0.2);
  for (let i = 0; i < count; i++) kinds.push(i < nQuery ? 'q' : i < count - nPara ? 's' : 'p');
  for (let i = kinds.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [kinds[i], kinds[j]] = [kinds[j], kinds[i]];
  }
  return kinds.map((k) => (k === 'q' ? query() : k === 's' ? sentence() : paragraph()));
}

const single = texts(COUNT);
const singleLines = single.map((input) => JSON.stringify({ input, model: MODEL }));
writeFileSync(join(OUT, 'texts.jsonl'), `${singleLines.join('\n')}\n`);

// Search queries alone (the queries of texts.jsonl): short inputs, where batching pays most.
const queryLines = single
  .filter((t) => wordCount(t) <= 8)
  .map((input) => JSON.stringify({ input, model: MODEL }));
writeFileSync(join(OUT, 'queries.jsonl'), `${queryLines.join('\n')}\n`);

// Batches are new texts with the same mix, so that a batch pads to its longest member as it would in use.
const batchLines = [];
for (let b = 0; b < BATCHES; b++) {
  batchLines.push(JSON.stringify({ input: texts(BATCH_SIZE), model: MODEL }));
}
writeFileSync(join(OUT, 'batch-texts.jsonl'), `${batchLines.join('\n')}\n`);

const words = single.map(wordCount);
const bytes = (lines) => lines.reduce((s, l) => s + Buffer.byteLength(l) + 1, 0);
process.stderr.write(
  `texts.jsonl: ${single.length} bodies, ${bytes(singleLines)} bytes, words min ${Math.min(...words)} / ` +
    `median ${words.slice().sort((a, b) => a - b)[words.length >> 1]} / max ${Math.max(...words)}\n` +
    `queries.jsonl: ${queryLines.length} bodies\n` +
    `batch-texts.jsonl: ${batchLines.length} bodies of ${BATCH_SIZE}, ${bytes(batchLines)} bytes\n`,
);
