/**
 * COCO class names, the label sets object detectors trained on COCO 2017 speak. Two numberings exist and are
 * easy to mix up:
 *
 * - the 80-class index 0..79 that YOLO models (Ultralytics `coco.yaml`) output as `classId`;
 * - the original COCO category ids 1..90, with ten gaps for categories that were never annotated (12 street
 *   sign, 26 hat, 29 shoe, 30 eye glasses, 45 plate, 66 mirror, 68 window, 69 desk, 71 door, 83 blender), used
 *   by TF.js COCO-SSD (`coco-ssd/src/classes.ts`; its score column `j` is category id `j + 1`) and by the COCO
 *   annotation files.
 *
 * Both list the same 80 classes in the same order, so mapping is by position.
 */

/** The 80 COCO class names by YOLO class index (Ultralytics `coco.yaml`): `COCO_CLASSES[16] === 'dog'`. */
export const COCO_CLASSES: readonly string[] = Object.freeze([
  'person',
  'bicycle',
  'car',
  'motorcycle',
  'airplane',
  'bus',
  'train',
  'truck',
  'boat',
  'traffic light',
  'fire hydrant',
  'stop sign',
  'parking meter',
  'bench',
  'bird',
  'cat',
  'dog',
  'horse',
  'sheep',
  'cow',
  'elephant',
  'bear',
  'zebra',
  'giraffe',
  'backpack',
  'umbrella',
  'handbag',
  'tie',
  'suitcase',
  'frisbee',
  'skis',
  'snowboard',
  'sports ball',
  'kite',
  'baseball bat',
  'baseball glove',
  'skateboard',
  'surfboard',
  'tennis racket',
  'bottle',
  'wine glass',
  'cup',
  'fork',
  'knife',
  'spoon',
  'bowl',
  'banana',
  'apple',
  'sandwich',
  'orange',
  'broccoli',
  'carrot',
  'hot dog',
  'pizza',
  'donut',
  'cake',
  'chair',
  'couch',
  'potted plant',
  'bed',
  'dining table',
  'toilet',
  'tv',
  'laptop',
  'mouse',
  'remote',
  'keyboard',
  'cell phone',
  'microwave',
  'oven',
  'toaster',
  'sink',
  'refrigerator',
  'book',
  'clock',
  'vase',
  'scissors',
  'teddy bear',
  'hair drier',
  'toothbrush',
]);

/** The COCO category id (1..90) of each YOLO class index: `COCO_CATEGORY_IDS[16] === 18` (dog). */
export const COCO_CATEGORY_IDS: readonly number[] = Object.freeze([
  1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 27, 28, 31, 32, 33,
  34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61,
  62, 63, 64, 65, 67, 70, 72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 82, 84, 85, 86, 87, 88, 89, 90,
]);

/**
 * The TF.js COCO-SSD label map: COCO category id (1..90, with gaps) to display name, as in
 * `coco-ssd/src/classes.ts`.
 */
export const COCO_SSD_LABELS: ReadonlyMap<number, string> = new Map(
  COCO_CATEGORY_IDS.map((id, index) => [id, COCO_CLASSES[index] as string]),
);

const INDEX_BY_CATEGORY_ID: ReadonlyMap<number, number> = new Map(
  COCO_CATEGORY_IDS.map((id, index) => [id, index]),
);

/**
 * The YOLO class index (0..79) of a COCO category id (1..90), or undefined for the ten ids without
 * annotations and for anything outside 1..90: `cocoCategoryIdToClassIndex(18) === 16` (dog).
 */
export function cocoCategoryIdToClassIndex(categoryId: number): number | undefined {
  return INDEX_BY_CATEGORY_ID.get(categoryId);
}

/** The COCO category id (1..90) of a YOLO class index (0..79), or undefined outside 0..79. */
export function classIndexToCocoCategoryId(classIndex: number): number | undefined {
  return Number.isInteger(classIndex) ? COCO_CATEGORY_IDS[classIndex] : undefined;
}
