/* weike's search: the sharded index of plugins/site/search_shards.py, in Material's search dialog.
 *
 * Nothing is fetched until the reader searches. The build appends the index's manifest to this
 * file (search/manifest.js is loaded only when it did not), so a query loads the postings shards
 * of its character pairs, then the store chunks of the first screen of candidates, each as a
 * <script> (so it works from file:// too), each once per page; a result is shown as soon as its
 * chunk is in. Candidates hold every pair of the query; the store's text then keeps exactly those
 * containing it (substring truth).
 * Results are built with the DOM (textContent, <mark> elements): author text is never HTML.
 * partials/search.html loads this script async, right after the dialog: it does not wait for
 * Material's bundle, and a query typed before it ran is searched when it runs. */
(function () {
  "use strict";
  var received = {manifest: null, p: {}, d: {}};
  window.__weikeSearch = {
    manifest: function (value) { received.manifest = value; },
    p: function (n, value) { received.p[n] = value; },
    d: function (n, value) { received.d[n] = value; }
  };
  var input = document.querySelector(".md-search__input");
  var output = document.querySelector("[data-weike-search-result]");
  if (!input || !output) return;
  var script = document.currentScript;
  var root = script ? script.src.replace(/assets\/weike\/search\.js(?:[?#].*)?$/, "") : "";
  var fromFile = location.protocol === "file:";
  var meta = output.querySelector(".md-search-result__meta");
  var list = output.querySelector(".md-search-result__list");
  var scrollwrap = document.querySelector(".md-search__scrollwrap");
  var toggle = document.getElementById("__search");
  var PAGE = 10;

  var loading = {};
  function load(rel, version) {
    if (!loading[rel]) {
      loading[rel] = new Promise(function (resolve, reject) {
        var tag = document.createElement("script");
        tag.src = root + "search/" + rel + (version && !fromFile ? "?v=" + version : "");
        tag.async = true;
        /* The reader is waiting for these: ahead of the page's images and late scripts for one of
         * the six connections a host gets (a dynamically inserted script is otherwise low). */
        tag.fetchPriority = "high";
        tag.onload = function () { resolve(); };
        tag.onerror = function () { delete loading[rel]; reject(new Error(rel)); };
        document.head.appendChild(tag);
      });
    }
    return loading[rel];
  }
  function manifest() {
    if (received.manifest) return Promise.resolve(received.manifest);
    return load("manifest.js").then(function () { return received.manifest; });
  }

  var CRC = (function () {
    var table = [];
    for (var n = 0; n < 256; n++) {
      var c = n;
      for (var k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table.push(c >>> 0);
    }
    return table;
  })();
  function crc32(text) {
    var bytes = unescape(encodeURIComponent(text)), crc = 0xffffffff;
    for (var i = 0; i < bytes.length; i++) crc = CRC[(crc ^ bytes.charCodeAt(i)) & 0xff] ^ (crc >>> 8);
    return (crc ^ 0xffffffff) >>> 0;
  }
  function normalise(text) { return (text.normalize ? text.normalize("NFKC") : text).toLowerCase(); }
  function isSpace(c) { return /\s/.test(c); }

  /* The keys whose postings every entry containing the query holds. */
  function queryKeys(query) {
    var chars = Array.from(query), keys = [];
    if (chars.length === 1) return isSpace(chars[0]) ? [] : [chars[0]];
    for (var i = 0; i + 1 < chars.length; i++) {
      if (!isSpace(chars[i]) && !isSpace(chars[i + 1])) keys.push(chars[i] + chars[i + 1]);
    }
    if (!keys.length) chars.forEach(function (c) { if (!isSpace(c)) keys.push(c); });
    return keys.filter(function (key, i) { return keys.indexOf(key) === i; });
  }
  /* {entry number: in title} for one key: deltas (times 2, plus 1 for "in the title") as
   * variable-length numbers, 5 bits a digit, least significant first, 32 added when more follow. */
  var DIGIT = {};
  Array.from("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_").forEach(function (c, i) { DIGIT[c] = i; });
  function postings(encoded) {
    var found = new Map(), number = 0, value = 0, scale = 1;
    for (var i = 0; encoded && i < encoded.length; i++) {
      var digit = DIGIT[encoded.charAt(i)];
      value += (digit & 31) * scale;
      if (digit & 32) { scale *= 32; continue; }
      number += Math.floor(value / 2);
      found.set(number, value % 2 === 1);
      value = 0; scale = 1;
    }
    return found;
  }

  /* Candidates in rank order: title hits first, then index order. */
  function ranked(found) {
    var numbers = Array.from(found.keys());
    numbers.sort(function (a, b) { return (found.get(b) - found.get(a)) || a - b; });
    return numbers;
  }

  function candidates(query) {
    return manifest().then(function (index) {
      var keys = queryKeys(query);
      if (!keys.length) return {index: index, numbers: []};
      var shards = keys.map(function (key) { return crc32(key) % index.shards; });
      /* Every candidate is in each key's list: once a shard holding a short one is in, the store
       * chunks of its first screen are asked for while the other shards still load (one round
       * trip less for the first result; a common key's long list is never fetched ahead). */
      var ahead = false;
      function fetchAhead(key, n) {
        if (ahead) return;
        var these = postings(received.p[n][key]);
        if (!these.size || these.size > 2 * PAGE) return;
        ahead = true;
        ranked(these).slice(0, PAGE).forEach(function (number) { entry(index, number).catch(function () {}); });
      }
      return Promise.all(shards.map(function (n, i) {
        return load("p/" + n + ".js", index.version).then(function () { fetchAhead(keys[i], n); });
      })).then(function () {
        var found = null;
        keys.forEach(function (key, i) {
          var these = postings(received.p[shards[i]][key]);
          if (found === null) { found = these; return; }
          var both = new Map();
          found.forEach(function (title, number) {
            if (these.has(number)) both.set(number, title && these.get(number));
          });
          found = both;
        });
        return {index: index, numbers: ranked(found)};
      });
    });
  }

  function entry(index, number) {
    var chunk = Math.floor(number / index.chunk);
    return load("d/" + chunk + ".js", index.version).then(function () { return received.d[chunk][number % index.chunk]; });
  }

  /* A location of the index as a link from this page (a page file when opened from a folder). */
  function href(location, query) {
    var parts = location.split("#"), path = parts[0], hash = parts.length > 1 ? "#" + parts.slice(1).join("#") : "";
    if (fromFile && (path === "" || path.charAt(path.length - 1) === "/")) path += "index.html";
    return root + path + "?h=" + encodeURIComponent(query) + hash;
  }

  /* text, with each occurrence of query in a <mark> (made by the DOM, never parsed). */
  function marked(tag, text, query, around) {
    var element = document.createElement(tag), lower = text.toLowerCase(), needle = query.toLowerCase();
    var at = needle.length && lower.length === text.length ? lower.indexOf(needle) : -1;
    if (around && at > 40) {  // the teaser starts near the match, at a character boundary
      var start = at - 20;
      if (/[\udc00-\udfff]/.test(text.charAt(start))) start -= 1;
      text = "…" + text.slice(start); lower = text.toLowerCase(); at = lower.indexOf(needle);
    }
    var from = 0;
    while (at >= 0) {
      element.appendChild(document.createTextNode(text.slice(from, at)));
      var mark = document.createElement("mark");
      mark.textContent = text.slice(at, at + needle.length);
      element.appendChild(mark);
      from = at + needle.length;
      at = lower.indexOf(needle, from);
    }
    element.appendChild(document.createTextNode(text.slice(from)));
    return element;
  }

  function item(found, query) {
    var li = document.createElement("li");
    li.className = "md-search-result__item";
    var link = document.createElement("a");
    link.className = "md-search-result__link";
    link.href = href(found[0], query);
    link.tabIndex = -1;
    var article = document.createElement("article");
    article.className = "md-search-result__article md-typeset";
    article.appendChild(marked("h1", found[1] || found[0], query, false));
    if (found[2]) {
      var teaser = marked("p", found[2], query, true);
      teaser.className = "md-search-result__teaser";
      article.appendChild(teaser);
    }
    link.appendChild(article);
    li.appendChild(link);
    return li;
  }

  var current = null;  // the search being shown: {query, index, numbers, next, shown, busy}
  function say(text) { meta.textContent = text; }
  function summary() {
    if (!current) return;
    if (current.next < current.numbers.length) say("已找到 " + current.shown + " 个，向下滑动看更多");
    else say(current.shown ? "共找到 " + current.shown + " 个结果" : "没有找到，换个字词试试");
  }
  /* Show the next screen of results (candidates that really contain the query), each as soon as
   * its chunk and those of the candidates ranked before it are in. */
  function more(search) {
    if (search.busy) return Promise.resolve();
    search.busy = true;
    var wanted = search.shown + PAGE;
    function step() {
      if (search !== current || search.shown >= wanted || search.next >= search.numbers.length) {
        search.busy = false;
        if (search === current) summary();
        return Promise.resolve();
      }
      var batch = search.numbers.slice(search.next, search.next + PAGE);
      search.next += batch.length;
      var shown = Promise.resolve();
      batch.map(function (number) { return entry(search.index, number); }).forEach(function (loaded) {
        shown = shown.then(function () { return loaded; }).then(function (found) {
          if (search !== current) return;
          if (normalise(found[1] + "\n" + found[2] + "\n" + found[3]).indexOf(search.query) < 0) return;
          list.appendChild(item(found, search.raw));
          search.shown += 1;
        });
      });
      return shown.then(step);
    }
    return step();
  }

  function run() {
    var raw = input.value.trim(), query = normalise(raw);
    list.textContent = "";
    if (!query) { current = null; say("输入要找的字词，例如：手机"); return; }
    var search = current = {raw: raw, query: query, numbers: [], next: 0, shown: 0, busy: false};
    say("正在查找…");
    candidates(query).then(function (found) {
      if (search !== current) return;
      search.index = found.index;
      search.numbers = found.numbers;
      return more(search);
    }).catch(function () { if (search === current) say("查找出错，请刷新页面再试"); });
  }

  /* Every location containing query (for the recall benchmark and tests: the search, without the list). */
  window.__weikeSearch.find = function (raw) {
    var query = normalise(raw);
    return candidates(query).then(function (found) {
      return Promise.all(found.numbers.map(function (number) { return entry(found.index, number); }));
    }).then(function (entries) {
      return entries.filter(function (e) { return normalise(e[1] + "\n" + e[2] + "\n" + e[3]).indexOf(query) >= 0; })
        .map(function (e) { return e[0]; });
    });
  };

  var timer = null;
  input.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(run, 80); });
  input.addEventListener("focus", function () {
    if (toggle && !toggle.checked) { toggle.checked = true; toggle.dispatchEvent(new Event("change")); }
    manifest().catch(function () {});
  });
  if (toggle) toggle.addEventListener("change", function () { if (toggle.checked) input.focus(); });
  input.form.addEventListener("submit", function (event) {
    event.preventDefault();
    var first = list.querySelector(".md-search-result__link");
    if (first) first.click();
  });
  input.form.addEventListener("reset", function () { setTimeout(run, 0); });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && toggle) { toggle.checked = false; input.blur(); }
  });
  /* Typed before this script ran: searched as soon as the rest of this file (the manifest) has run,
   * before the parser goes on to request the page's images and scripts. */
  if (input.value) Promise.resolve().then(run);
  if (scrollwrap) scrollwrap.addEventListener("scroll", function () {
    if (current && scrollwrap.scrollTop + scrollwrap.clientHeight > scrollwrap.scrollHeight - 200) more(current);
  });
})();
