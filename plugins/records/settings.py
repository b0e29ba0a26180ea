"""The ``records:`` block of ``weike.yml`` (declared with ``weike_settings``).

```yaml
records:
  ask_name: false            # 学习档案页请学员填写姓名，随记录发给学习站（默认不问：匿名设备编号）
  offline_trainings: 12400000  # 线下培训人次（手填）；写了它，附件5 的培训总数 = 它 + 学习记录里的线上人次
  lrs:                       # 转发到学习记录平台（LRS）；不写就不转发，记录不离开学习站
    endpoint: https://lrs.example.cn/xAPI/
    key: weike-station-3     # secret 最好不写在这里：用环境变量 WEIKE_LRS_SECRET（key 也可用 WEIKE_LRS_KEY）
```
"""

from __future__ import annotations

import os

from dataclasses import dataclass

from weike.builder.model import Setting, WeikeConfig

RECORDS_KEYS = ("ask_name", "offline_trainings", "lrs")
LRS_KEYS = ("endpoint", "key", "secret")


def read_records(reader, node, path: str = "records") -> dict:
    """The keys written in a ``records:`` block (bad values are E005 at their line)."""
    found = reader.mapping(node, path, RECORDS_KEYS)
    values: dict = {}
    if "ask_name" in found:
        values["ask_name"] = reader.boolean(found["ask_name"], f"{path}.ask_name")
    if "offline_trainings" in found:
        number = reader.integer(found["offline_trainings"], f"{path}.offline_trainings")
        if number is not None and number < 0:
            reader.report("E005", found["offline_trainings"], f"“{path}.offline_trainings”应为非负整数",
                          f"'{path}.offline_trainings' must be a non-negative whole number")
            number = None
        values["offline_trainings"] = number
    if "lrs" in found:
        fields = reader.mapping(found["lrs"], f"{path}.lrs", LRS_KEYS)
        lrs = {key: reader.text(fields.get(key), f"{path}.lrs.{key}") for key in LRS_KEYS if key in fields}
        endpoint = lrs.get("endpoint")
        if endpoint is not None and not endpoint.startswith(("http://", "https://")):
            reader.report("E005", fields["endpoint"], f"“{path}.lrs.endpoint”应为 http:// 或 https:// 开头的网址",
                          f"'{path}.lrs.endpoint' must be an http:// or https:// address")
            lrs.pop("endpoint")
        values["lrs"] = lrs or None
    return {key: value for key, value in values.items() if value is not None}


SETTINGS = (
    Setting(name="records", read=read_records,
            help="learning records: ask_name (learners type a name), offline_trainings (附件5's 线下 人次; "
                 "the 线上 人次 then come from the station's records), lrs (endpoint, key, secret: forward to an LRS)"),
)


@dataclass(frozen=True, kw_only=True)
class RecordsSettings:
    ask_name: bool = False
    #: 附件5's offline 人次, typed; None = 附件5's trainings figure is weike.yml's own.
    offline_trainings: int | None = None
    #: ``records.lrs`` (endpoint, key, secret), the environment's WEIKE_LRS_KEY/SECRET over the file's.
    lrs: dict | None = None


def records_settings(config: WeikeConfig) -> RecordsSettings:
    values = dict(config.plugin_settings.get("records") or {})
    if values.get("lrs"):
        lrs = dict(values["lrs"])
        for key in ("key", "secret"):
            if os.environ.get(f"WEIKE_LRS_{key.upper()}"):
                lrs[key] = os.environ[f"WEIKE_LRS_{key.upper()}"]
        values["lrs"] = lrs
    return RecordsSettings(**values)
