/**
 * The grid as one texture of cell codes (WebGL): one byte per cell uploaded as it comes from the
 * frame (r8unorm, no per-cell work on the CPU), coloured on the GPU through a 256-entry palette
 * texture. A quarter of the bytes of an RGBA texture and no colour pass over a million cells per
 * frame. texelFetch reads each texel exactly: nearest filtering by construction.
 *
 * WebGL leaves rows aligned to 4 bytes when uploading (pixi does not change UNPACK_ALIGNMENT), so
 * a grid whose width is not a multiple of 4 is copied into a texture of padded rows.
 */
import type { RenderFrame } from '@gibbs/core';
import { BufferImageSource, Mesh, MeshGeometry, Shader } from 'pixi.js';

const VERTEX = `#version 300 es
in vec2 aPosition;
in vec2 aUV;
out vec2 vCell;
uniform mat3 uProjectionMatrix;
uniform mat3 uWorldTransformMatrix;
uniform mat3 uTransformMatrix;
void main() {
  mat3 mvp = uProjectionMatrix * uWorldTransformMatrix * uTransformMatrix;
  gl_Position = vec4((mvp * vec3(aPosition, 1.0)).xy, 0.0, 1.0);
  vCell = aUV;
}`;

const FRAGMENT = `#version 300 es
precision highp float;
in vec2 vCell;
uniform sampler2D uCells;
uniform sampler2D uPalette;
out vec4 finalColor;
void main() {
  float code = texelFetch(uCells, ivec2(floor(vCell)), 0).r * 255.0;
  finalColor = texelFetch(uPalette, ivec2(int(code + 0.5), 0), 0);
}`;

export class CellLayer {
  readonly mesh: Mesh<MeshGeometry, Shader>;
  private readonly cells: BufferImageSource;
  private readonly bytes: Uint8Array;
  private readonly palette: BufferImageSource;
  private readonly paletteTexels: Uint32Array;
  readonly stride: number;

  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    this.stride = (width + 3) & ~3;
    this.bytes = new Uint8Array(this.stride * height);
    this.cells = new BufferImageSource({
      resource: this.bytes,
      width: this.stride,
      height,
      format: 'r8unorm',
      scaleMode: 'nearest',
      autoGenerateMipmaps: false,
    });
    const paletteBytes = new Uint8Array(256 * 4);
    this.paletteTexels = new Uint32Array(paletteBytes.buffer);
    this.palette = new BufferImageSource({
      resource: paletteBytes,
      width: 256,
      height: 1,
      format: 'rgba8unorm',
      scaleMode: 'nearest',
      autoGenerateMipmaps: false,
    });
    const geometry = new MeshGeometry({
      positions: new Float32Array([0, 0, width, 0, width, height, 0, height]),
      // UVs in cell units: the fragment shader fetches texel floor(vCell).
      uvs: new Float32Array([0, 0, width, 0, width, height, 0, height]),
      indices: new Uint32Array([0, 1, 2, 0, 2, 3]),
    });
    const shader = Shader.from({
      gl: { vertex: VERTEX, fragment: FRAGMENT },
      resources: {
        uCells: this.cells,
        uPalette: this.palette,
      },
    });
    this.mesh = new Mesh({ geometry, shader });
  }

  setPalette(lut: Uint32Array): void {
    this.paletteTexels.set(lut.subarray(0, 256));
    this.palette.update();
  }

  draw(f: RenderFrame): void {
    const { width: w, height: h } = this;
    if (this.stride === w) this.bytes.set(f.cells.subarray(0, w * h));
    else
      for (let y = 0; y < h; y++)
        this.bytes.set(f.cells.subarray(y * w, y * w + w), y * this.stride);
    this.cells.update();
  }

  destroy(): void {
    this.mesh.destroy();
    this.cells.destroy();
    this.palette.destroy();
  }
}
