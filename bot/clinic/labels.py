"""Names of filter values and groups on the workspace's pages (msgids, marked for extraction)."""
from __future__ import annotations

from bot.i18n.catalog import mark

SITE_NAMES = {"low_back": mark("clinic.site.low_back"), "neck": mark("clinic.site.neck"),
              "both": mark("clinic.site.both")}
RISK_FILTER_NAMES = {"red_flag": mark("clinic.risk_filter.red_flag"), "high": mark("clinic.risk_filter.high"),
                     "medium": mark("clinic.risk_filter.medium"), "low": mark("clinic.risk_filter.low"),
                     "unfinished": mark("clinic.risk_filter.unfinished")}
GROUP_LABELS = {"red_flag": mark("clinic.group.red_flag"), "high": mark("clinic.group.high"),
                "medium": mark("clinic.group.medium"), "low": mark("clinic.group.low")}
PERIOD_NAMES = {"30": mark("clinic.period.30"), "90": mark("clinic.period.90"), "365": mark("clinic.period.365"),
                "all": mark("clinic.period.all")}
