"""The national platforms' upload bundles: 国家智慧教育公共服务平台 (:mod:`~weike.plugins.national.smartedu`)
and 国家开放大学终身教育平台 (:mod:`~weike.plugins.national.ouchn`), ``dist/bundles/<platform>/<course>.zip``.

Both platforms take the same hand-over (MP4s, thumbnails, subtitles, a declaration spreadsheet,
manifest.json): :mod:`~weike.plugins.national.bundle` makes it; each platform is one module
declaring its target, so a province can switch one off or replace it on its own. The province's
own forms (附件3/4/5) are :mod:`weike.plugins.province`; SCORM is :mod:`weike.plugins.scorm`.
"""
