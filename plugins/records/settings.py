"""The ``records:`` block of ``weike.yml`` (declared with ``weike_settings``).

```yaml
records:
  ask_name: false            # 学习档案页请学员填写姓名，随记录发给学习站（默认不问：匿名设备编号）
  offline_trainings: 12400000  # 线下培训人次（手填）；写了它，附件5 的培训总数 = 它 + 学习记录里的线上人次
  lrs:                       # 转发到学习记录平台（LRS）；不写就不转发，记录不离开学习站
    endpoint: https://lrs.example.cn/xAPI/
    key: weike-station-3     # secret 最好不写在这里：用环境变量 WEIKE_LRS_SECRET（key 也可用 WEIKE_LRS_KEY）
  public_lrs:                # 公开网站（site_url）的页面直接发到 LRS；账号会出现在网页里，只能是“只许写入记录”的公开账号
    endpoint: https://lrs.example.cn/xAPI/
    key: weike-public-write
    secret: 公开的写入口令
```
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from weike.builder.contracts.model import WeikeConfig
from weike.builder.contracts.settings import Boolean, Fields, Integer, Setting, Text

RECORDS = Setting(
    name="records",
    description="学习记录：学习档案是否请学员填写姓名、附件5 的线下培训人次、转发到学习记录平台（LRS）",
    description_en="learning records: whether learners type a name, 附件5's offline 人次, forwarding to an LRS",
    type=Fields(fields=(
        Setting(name="ask_name", type=Boolean(), default=False,
                description="学习档案页请学员填写姓名，随记录发给学习站（默认不问：匿名设备编号）",
                description_en="learners type a name, sent with their statements (default: anonymous device ids)"),
        Setting(name="offline_trainings", type=Integer(minimum=0),
                description="线下培训人次（手填）；写了它，附件5 的培训总数 = 它 + 学习记录里的线上人次",
                description_en="附件5's offline 人次, typed; with it, 附件5's trainings = it + the records' online 人次"),
        Setting(name="lrs", description="转发到学习记录平台（LRS）；不写就不转发，记录不离开学习站",
                description_en="forward the statements to an xAPI LRS; without it nothing leaves the station",
                type=Fields(fields=(
                    Setting(name="endpoint", type=Text(pattern=r"^https?://", pattern_hint="写成 http:// 或 https:// 开头的网址。"),
                            description="LRS 的 xAPI 地址", description_en="the LRS's xAPI endpoint"),
                    Setting(name="key", type=Text(), description="LRS 的用户名（也可用环境变量 WEIKE_LRS_KEY）",
                            description_en="the LRS key (or WEIKE_LRS_KEY)"),
                    Setting(name="secret", type=Text(),
                            description="LRS 的密码；最好不写在这里，用环境变量 WEIKE_LRS_SECRET",
                            description_en="the LRS secret; better WEIKE_LRS_SECRET than this file"),
                ))),
        Setting(name="public_lrs",
                description="公开网站（site_url）上的页面直接把记录发到这个 LRS；账号和口令会写进网页、人人可见，"
                            "只能用 LRS 管理员为此专门开的“只许写入记录”的账号，不能是学习站的账号",
                description_en="pages on the public site (site_url) send their statements straight to this LRS; "
                               "the key and secret are in the pages for anyone to read: a write-only statement "
                               "key the LRS admin made for this, never the station's",
                type=Fields(fields=(
                    Setting(name="endpoint", type=Text(pattern=r"^https?://", pattern_hint="写成 http:// 或 https:// 开头的网址。"),
                            description="LRS 的 xAPI 地址（LRS 要允许网站地址跨域访问 CORS）",
                            description_en="the LRS's xAPI endpoint (it must allow the site's origin: CORS)"),
                    Setting(name="key", type=Text(), description="只许写入记录的公开账号",
                            description_en="the write-only statement key"),
                    Setting(name="secret", type=Text(), description="这个公开账号的口令（会写进网页）",
                            description_en="that key's secret (published in the pages)"),
                ))),
    )))
SETTINGS = (RECORDS,)
RECORDS_KEYS = RECORDS.type.names()
LRS_KEYS = RECORDS.type.field("lrs").type.names()


@dataclass(frozen=True, kw_only=True)
class RecordsSettings:
    ask_name: bool = False
    #: 附件5's offline 人次, typed; None = 附件5's trainings figure is weike.yml's own.
    offline_trainings: int | None = None
    #: ``records.lrs`` (endpoint, key, secret), the environment's WEIKE_LRS_KEY/SECRET over the file's.
    lrs: dict | None = None
    #: ``records.public_lrs`` (endpoint, key, secret): published in the pages, so never from the environment.
    public_lrs: dict | None = None


def records_settings(config: WeikeConfig) -> RecordsSettings:
    values = dict(RECORDS.value_in(config.plugin_settings) or {})
    values["lrs"] = values.get("lrs") or None  # an empty lrs: block forwards nowhere
    values["public_lrs"] = values.get("public_lrs") or None
    if values.get("lrs"):
        lrs = dict(values["lrs"])
        for key in ("key", "secret"):
            if os.environ.get(f"WEIKE_LRS_{key.upper()}"):
                lrs[key] = os.environ[f"WEIKE_LRS_{key.upper()}"]
        values["lrs"] = lrs
    return RecordsSettings(**values)
