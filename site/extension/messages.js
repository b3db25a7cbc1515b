// The one message vocabulary of the extension: {type, target, data}.
export const T = Object.freeze({
  PICK: 'toonid:pick',           // background -> content: let the user click a point
  PICKED: 'toonid:picked',       // content -> background: {x, y, dpr} in CSS pixels of the viewport
  IDENTIFY: 'toonid:identify',   // background -> offscreen: {image (data URL), x, y} in image pixels
  SHOW: 'toonid:show',           // background -> content: the answer (or {error}) to draw
});
export const msg = (type, target, data) => ({ type, target, data });
