// The hosted editor's start: Decap, once weike's preview templates are registered.
window.CMS.init();
