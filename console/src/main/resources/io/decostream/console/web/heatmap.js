// R-GAE heatmaps over frames, drawn on a canvas in the browser: the same picture as the cli's
// GroundingPictures (bilinear over patch centres, min-max display scale shared by the frames of a
// strip, a black-purple-red-yellow-white ramp blended with alpha 0.7 x relevance).
"use strict";
const Heatmap = (() => {
  const MAX_ALPHA = 0.7;
  const STOPS = [[0, 0, 0], [0.34, 0.06, 0.43], [0.86, 0.2, 0.27], [0.99, 0.65, 0.04], [0.99, 1.0, 0.64]];

  function color(t) {
    const p = Math.min(1, Math.max(0, t)) * (STOPS.length - 1);
    const i = Math.min(Math.floor(p), STOPS.length - 2);
    const f = p - i;
    return [0, 1, 2].map(k => Math.round(255 * (STOPS[i][k] + f * (STOPS[i + 1][k] - STOPS[i][k]))));
  }

  /** Min and max over several maps, for one display scale. */
  function range(maps) {
    let lo = Infinity, hi = -Infinity;
    for (const m of maps) for (const v of m) if (Number.isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
    return lo > hi ? [0, 1] : [lo, hi];
  }

  function sample(map, gh, gw, x, y, w, h, lo, hi) {
    const sx = Math.max(0, (x + 0.5) * gw / w - 0.5);
    const sy = Math.max(0, (y + 0.5) * gh / h - 0.5);
    const x0 = Math.min(Math.floor(sx), gw - 1), y0 = Math.min(Math.floor(sy), gh - 1);
    const x1 = Math.min(x0 + 1, gw - 1), y1 = Math.min(y0 + 1, gh - 1);
    const fx = Math.min(1, sx - x0), fy = Math.min(1, sy - y0);
    const v = (1 - fy) * ((1 - fx) * map[y0 * gw + x0] + fx * map[y0 * gw + x1])
            + fy * ((1 - fx) * map[y1 * gw + x0] + fx * map[y1 * gw + x1]);
    const span = hi - lo;
    return span <= 0 ? 0 : Math.min(1, Math.max(0, (v - lo) / span));
  }

  /** Draws `image` (or black when null) with `map` blended over it on `canvas`. */
  function draw(canvas, image, map, gh, gw, lo, hi) {
    const w = canvas.width, h = canvas.height;
    const ctx = canvas.getContext("2d");
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, w, h);
    if (image) ctx.drawImage(image, 0, 0, w, h);
    const img = ctx.getImageData(0, 0, w, h);
    const d = img.data;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const t = sample(map, gh, gw, x, y, w, h, lo, hi);
        const c = color(t);
        const a = MAX_ALPHA * t;
        const o = 4 * (y * w + x);
        d[o] = Math.round(d[o] * (1 - a) + c[0] * a);
        d[o + 1] = Math.round(d[o + 1] * (1 - a) + c[1] * a);
        d[o + 2] = Math.round(d[o + 2] * (1 - a) + c[2] * a);
        d[o + 3] = 255;
      }
    }
    ctx.putImageData(img, 0, 0);
  }

  return { color, range, sample, draw };
})();
