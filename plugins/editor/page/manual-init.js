// weike starts Decap itself (weike-editor.js), once its own widgets and listeners are registered.
window.CMS_MANUAL_INIT = true;
