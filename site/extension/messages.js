// The one message vocabulary of the extension: {type, target, data}.
export const T = Object.freeze({
  PICK: 'toonid:pick',           // background -> content: let the user click a point
  PICKED: 'toonid:picked',       // content -> background: {x, y, dpr} in CSS pixels of the viewport
  IDENTIFY: 'toonid:identify',   // background -> offscreen: {image (data URL), x, y} or {image, box} in image pixels, base
  SHOW: 'toonid:show',           // background -> content: {label, kind, box, faces?} (or {error}) to draw
  SCAN: 'toonid:scan',           // content -> background: {dpr, video}: box the faces of the paused video in that rect (CSS px)
  FACES: 'toonid:faces',         // background -> content: {faces: [{box, crop, label, answers, ...}]} in CSS px
  FACE: 'toonid:face',           // content -> background: {face, dpr}: a click in a face's box; answered with SHOW
  IDENTIFY_ALL: 'toonid:identify-all', // background -> offscreen: {image (data URL), base}: {faces} (toonid.js identifyAll)
  START_PICK: 'toonid:start-pick', // popup -> background: {tabId}: start a pick in that tab
  START_LIVE: 'toonid:start-live', // popup -> background: {tabId}: live names on that tab's main video
  LIVE: 'toonid:live',           // background -> content: {}: turn live names on for the main video
  // Live names (content -> background -> offscreen; background adds base): LIVE_START {every}, then
  // per frame LIVE_FRAME {image (JPEG data URL of the frame), t (ms)} or, for a video whose pixels
  // the page may not read, LIVE_CAPTURE {rect (the picture, CSS px), dpr, w, h, t}: the background
  // screenshots the tab and the offscreen document crops rect to w x h; both answer {faces, ...}
  // in the frame's pixels (toonid.js liveFrame). LIVE_STOP {}.
  LIVE_START: 'toonid:live-start',
  LIVE_FRAME: 'toonid:live-frame',
  LIVE_CAPTURE: 'toonid:live-capture',
  LIVE_STOP: 'toonid:live-stop',
  LIVE_SHOT: 'toonid:live-shot', // background -> content: {}: the LIVE_CAPTURE screenshot is taken (show the boxes again)
  TEACH: 'toonid:teach',         // popup -> background: {name}; background -> offscreen: {name, image, box, base}
  RELAY: 'toonid:relay',         // options -> background: {type, data}: forwarded to the offscreen document
  TAUGHT: 'toonid:taught',       // -> offscreen: {}: the taught characters (packs().taught)
  FORGET: 'toonid:forget',       // -> offscreen: {id}
  EXPORT: 'toonid:export',       // -> offscreen: {}: taught.js export text
  IMPORT: 'toonid:import',       // -> offscreen: {text}: taught.js import
  EXPORT_PACK: 'toonid:export-pack', // -> offscreen: {}: {b64, characters}: the pack archive (packio.js), base64
  IMPORT_PACK: 'toonid:import-pack', // -> offscreen: {b64}: a pack archive to teach
});
export const msg = (type, target, data) => ({ type, target, data });

// Storage keys: the last answer (chrome.storage.session, for the popup) and the pack origin
// (chrome.storage.local, from the options page).
export const LAST = 'last';
export const PACK_BASE = 'packBase';
