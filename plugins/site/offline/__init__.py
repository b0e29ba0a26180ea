"""The offline edition of the catalogue: ``dist/offline``, opened from a USB stick.

Village teaching stations often have no internet. ``weike build`` therefore also writes the
catalogue as a folder that works when ``index.html`` is double-clicked (``file://``, no server,
no network), kept current file by file; ``weike offline`` packs it as a deterministic zip beside it. It is made from the built site
(:mod:`weike.plugins.site.website`), not by a second kind of build, so it shows the same pages:

- every link names a page file (``courses/x/index.html``): browsers show a bare folder listing for
  a ``file://`` folder URL. This is what Material's offline plugin gets from
  ``use_directory_urls: false``; here the finished pages are rewritten instead, so MkDocs runs once;
- search: weike's search (``assets/weike/search.js``) loads its index shards (``search/p/``,
  ``search/d/``) as ``<script>`` files, which a ``file://`` page may do, and turns a result's folder
  into its page file; the shards are copied unchanged. Material's index (``search_index.json``),
  its script form and the worker shim Material's search needed from ``file://`` are left out:
  no page loads them;
- subtitles: browsers refuse ``<track src>`` files from ``file://`` (it is a CORS fetch and a
  file has no origin), so each lecture page carries its WebVTT as a ``data:`` URL, which the
  fetch standard lets through;
- videos are plain files, hard links to ``dist/media`` (a copy across file systems).

Modules: :mod:`~weike.plugins.site.offline.edition` (settings, the folder, the zip).
"""
