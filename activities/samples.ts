/**
 * Sample inputs for the data pipelines, so their API examples (`POST /api/jobs` in `/docs`, the
 * inputs of `dataImport` and `datasetBuild` declared in `workflows/jobs/`) run as they are on a
 * fresh `npm start`: a folder of rows to import and three small images, under `samples/` in the
 * import root. Written when missing, never over a file that exists.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { deflateSync } from 'node:zlib';

/** The sample folder of rows, relative to the import root (dataImport's example `sourceDir`). */
export const SAMPLE_IMPORT_DIR = 'samples/import';
/** The sample images, relative to the import root (datasetBuild's example `sources`). */
export const SAMPLE_IMAGES = [
  'samples/images/red.png',
  'samples/images/green.png',
  'samples/images/blue.png',
];

const COLOURS: Record<string, [number, number, number]> = {
  red: [220, 40, 40],
  green: [40, 180, 70],
  blue: [40, 90, 220],
};

const CSV = `id,title,category,tags,amount,updatedAt
sample-1,Blue mug,kitchen,"ceramic,blue",12.5,2026-01-10
sample-2,Oak shelf,furniture,wood;oak,89,2026-02-01
sample-3,Desk lamp,lighting,led,34.9,2026-02-14
sample-4,Linen towel,kitchen,linen,9.75,2026-03-02
sample-5,,furniture,,15,2026-03-05
`;

const JSONL = [
  { id: 'sample-6', title: 'Wool blanket', category: 'bedroom', tags: ['wool', 'grey'], amount: 64 },
  { id: 'sample-7', title: 'Cast iron pan', category: 'kitchen', tags: 'iron', amount: 42.5 },
  { id: 'sample-8', title: 'Reading chair', category: 'furniture', amount: 'not a number' },
]
  .map((r) => JSON.stringify(r))
  .join('\n');

/** Writes the samples under `importRoot` where they are missing; returns the files it wrote. */
export function writeSamples(importRoot: string): string[] {
  const files: [string, Buffer | string][] = [
    [`${SAMPLE_IMPORT_DIR}/products.csv`, CSV],
    [`${SAMPLE_IMPORT_DIR}/more-products.jsonl`, `${JSONL}\n`],
    ...SAMPLE_IMAGES.map((p): [string, Buffer] => {
      const colour = COLOURS[p.replace(/^.*\/|\.png$/g, '')];
      return [p, png(16, 16, () => colour)];
    }),
  ];
  const written: string[] = [];
  for (const [rel, body] of files) {
    const path = join(importRoot, rel);
    if (existsSync(path)) continue;
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, body);
    written.push(path);
  }
  return written;
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** A real, decodable RGB PNG whose every row is coloured by `colourAt(x)`. */
export function png(
  width: number,
  height: number,
  colourAt: (x: number) => [number, number, number],
): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 2; // RGB
  const row = Buffer.alloc(1 + width * 3);
  for (let x = 0; x < width; x++) row.set(colourAt(x), 1 + x * 3);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(Buffer.concat(Array.from({ length: height }, () => row)))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
