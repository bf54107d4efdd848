/** The live web viewer (pixi.js v8). */
export {};
