"""The ``records:`` block of ``weike.yml`` (declared with ``weike_settings``).

```yaml
records:
  ask_name: false            # 学习档案页请学员填写姓名，随记录发给学习站（默认不问：匿名设备编号）
  offline_trainings: 12400000  # 线下培训人次（手填）；写了它，附件5 的培训总数 = 它 + 学习记录里的线上人次
```
"""

from __future__ import annotations

from dataclasses import dataclass

from weike.builder.model import Setting, WeikeConfig

RECORDS_KEYS = ("ask_name", "offline_trainings")


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
    return {key: value for key, value in values.items() if value is not None}


SETTINGS = (
    Setting(name="records", read=read_records,
            help="learning records: ask_name (learners type a name), offline_trainings (附件5's 线下 人次; "
                 "the 线上 人次 then come from the station's records)"),
)


@dataclass(frozen=True, kw_only=True)
class RecordsSettings:
    ask_name: bool = False
    #: 附件5's offline 人次, typed; None = 附件5's trainings figure is weike.yml's own.
    offline_trainings: int | None = None


def records_settings(config: WeikeConfig) -> RecordsSettings:
    return RecordsSettings(**(config.plugin_settings.get("records") or {}))
