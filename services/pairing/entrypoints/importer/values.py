"""Chinese cell values → the API's values: enums, dates, yes/no, codes, with a reason when not.

Every parser takes what a cell holds (text from a CSV; text, numbers or dates from Excel) and
returns the API's value or raises `ValueProblem` whose message tells the operator, in Chinese,
what was found and what is accepted.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from datetime import date, datetime
from typing import Generic, TypeVar

from services.pairing.domain.rank import ALLOWED_TITLES, TIER_NAMES, TITLE_NAMES
from shared.contracts.people import (
    CadreKind,
    CareSetting,
    DisabilityType,
    Gender,
    OrphanType,
    ParentSituation,
    RankTier,
    RankTitle,
    Residence,
    SchoolStage,
    SelfCare,
    SubjectCategory,
)

T = TypeVar("T")

Cell = str | int | float | bool | date | datetime | None


class ValueProblem(ValueError):
    """A cell whose value cannot be used; the message says why in Chinese."""


def normalise(text: str) -> str:
    """Full-width letters, digits and brackets to half-width (NFKC), trimmed."""
    return unicodedata.normalize("NFKC", text).strip()


def compact(text: str) -> str:
    """Normalised with every space removed: how choices are compared."""
    return re.sub(r"\s+", "", normalise(text))


def is_blank(value: Cell) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def as_text(value: Cell) -> str:
    """A cell as the operator reads it: integers without `.0`, dates as 2014-05-17."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(" ")
    if isinstance(value, date):
        return value.isoformat()
    # Free text (names, addresses) is kept as written: NFKC would change rare characters of names.
    return str(value).strip()


def shown(value: Cell) -> str:
    """A value quoted in a message, shortened so that one cell cannot flood the report."""
    text = as_text(value)
    return text if len(text) <= 30 else text[:29] + "…"


class Vocabulary(Generic[T]):
    """The words accepted in one column and what each means; aliases are accepted but not listed."""

    def __init__(
        self,
        column: str,
        names: Mapping[str, T],
        aliases: Mapping[str, T] | None = None,
        *,
        separator: str = "、",  # between the accepted names in messages; 干部类别's names hold 、
    ) -> None:
        self.column = column
        self.names = dict(names)
        self.separator = separator
        self._lookup = {compact(k): v for k, v in {**(aliases or {}), **names}.items()}

    @property
    def accepted(self) -> list[str]:
        return list(self.names)

    def accepted_text(self) -> str:
        return self.separator.join(self.names)

    def parse(self, value: Cell) -> T:
        key = compact(as_text(value))
        try:
            return self._lookup[key]
        except KeyError:
            raise ValueProblem(f"“{shown(value)}”不是可选的值：请填写{self.accepted_text()}之一") from None

    def parse_many(self, value: Cell) -> tuple[T, ...]:
        """Several values separated by 、 , ; or spaces; each one checked, the order kept."""
        parts = split_many(value)
        found: list[T] = []
        wrong: list[str] = []
        for part in parts:
            try:
                item = self.parse(part)
            except ValueProblem:
                wrong.append(part)
                continue
            if item not in found:
                found.append(item)
        if wrong:
            listed = "、".join(f"“{w}”" for w in wrong)
            raise ValueProblem(
                f"{listed}不是可选的值：请填写{self.accepted_text()}中的一个或几个，用顿号（、）分隔"
            )
        return tuple(found)

    def name_of(self, value: T) -> str:
        return next(name for name, v in self.names.items() if v == value)


def split_many(value: Cell) -> list[str]:
    text = normalise(as_text(value))
    return [p for p in re.split(r"[、,;\s]+", text) if p]


# --- vocabularies -------------------------------------------------------------------------

GENDER = Vocabulary(
    "性别", {"男": Gender.male, "女": Gender.female}, {"男性": Gender.male, "女性": Gender.female}
)

YES_NO = Vocabulary("是/否", {"是": True, "否": False}, {"Y": True, "N": False, "1": True, "0": False})

PARTY_MEMBER = Vocabulary(
    "是否党员",
    {"是": True, "否": False},
    {"党员": True, "中共党员": True, "群众": False, "非党员": False, "Y": True, "N": False},
)

CATEGORY: Vocabulary[tuple[SubjectCategory, OrphanType | None]] = Vocabulary(
    "类别",
    {
        "孤儿": (SubjectCategory.orphan, OrphanType.orphan),
        "事实无人抚养儿童": (SubjectCategory.orphan, OrphanType.de_facto_orphan),
        "困难重度残疾人": (SubjectCategory.severely_disabled, None),
        "特困人员": (SubjectCategory.extreme_poverty, None),
    },
    {
        "特困": (SubjectCategory.extreme_poverty, None),
        "特困家庭": (SubjectCategory.extreme_poverty, None),
        "重度残疾人": (SubjectCategory.severely_disabled, None),
    },
)

PARENTS = Vocabulary(
    "父母情况",
    {
        "死亡": ParentSituation.deceased,
        "失踪": ParentSituation.missing,
        "重度残疾": ParentSituation.severe_disability,
        "重病": ParentSituation.serious_illness,
        "服刑在押": ParentSituation.imprisoned,
        "强制隔离戒毒": ParentSituation.compulsory_rehabilitation,
        "被撤销监护资格": ParentSituation.custody_revoked,
        "被遣送（驱逐）出境": ParentSituation.deported,
        "其他": ParentSituation.other,
    },
    {
        "去世": ParentSituation.deceased,
        "失联": ParentSituation.missing,
        "重残": ParentSituation.severe_disability,
        "服刑": ParentSituation.imprisoned,
        "在押": ParentSituation.imprisoned,
        "戒毒": ParentSituation.compulsory_rehabilitation,
        "撤销监护资格": ParentSituation.custody_revoked,
        "被遣送出境": ParentSituation.deported,
        "被驱逐出境": ParentSituation.deported,
    },
)

CARE_SETTING = Vocabulary(
    "养育方式",
    {
        "机构养育": CareSetting.institution,
        "社会散居": CareSetting.scattered,
        "分散供养": CareSetting.scattered,
        "集中供养": CareSetting.institution,
        "居家": CareSetting.scattered,
        "在机构接受治疗和服务": CareSetting.institution,
    },
    {"散居": CareSetting.scattered, "机构集中供养": CareSetting.institution, "机构": CareSetting.institution},
)

DISABILITY = Vocabulary(
    "残疾类别",
    {
        "视力": DisabilityType.visual,
        "听力": DisabilityType.hearing,
        "言语": DisabilityType.speech,
        "肢体": DisabilityType.physical,
        "智力": DisabilityType.intellectual,
        "精神": DisabilityType.mental,
        "多重": DisabilityType.multiple,
    },
    {
        "视力残疾": DisabilityType.visual,
        "听力残疾": DisabilityType.hearing,
        "言语残疾": DisabilityType.speech,
        "肢体残疾": DisabilityType.physical,
        "智力残疾": DisabilityType.intellectual,
        "精神残疾": DisabilityType.mental,
        "多重残疾": DisabilityType.multiple,
    },
)

DISABILITY_LEVEL = Vocabulary(
    "残疾等级",
    {"一级": 1, "二级": 2, "三级": 3, "四级": 4},
    {"1": 1, "2": 2, "3": 3, "4": 4, "1级": 1, "2级": 2, "3级": 3, "4级": 4},
)

RESIDENCE = Vocabulary(
    "城乡",
    {"城市": Residence.urban, "农村": Residence.rural},
    {"城镇": Residence.urban, "城": Residence.urban},
)

SELF_CARE = Vocabulary(
    "自理能力",
    {"全自理": SelfCare.full, "半护理": SelfCare.partial, "全护理": SelfCare.none},
    {"完全自理": SelfCare.full, "部分自理": SelfCare.partial, "完全不能自理": SelfCare.none},
)

SCHOOL_STAGE = Vocabulary(
    "在读阶段",
    {
        "未在读": SchoolStage.not_in_school,
        "学前": SchoolStage.preschool,
        "小学": SchoolStage.primary,
        "初中": SchoolStage.junior_secondary,
        "高中": SchoolStage.senior_secondary,
        "中职": SchoolStage.vocational,
        "高等教育": SchoolStage.higher,
    },
    {
        "不在读": SchoolStage.not_in_school,
        "未入学": SchoolStage.not_in_school,
        "无": SchoolStage.not_in_school,
        "学前教育": SchoolStage.preschool,
        "幼儿园": SchoolStage.preschool,
        "普通高中": SchoolStage.senior_secondary,
        "中专": SchoolStage.vocational,
        "职高": SchoolStage.vocational,
        "技校": SchoolStage.vocational,
        "大专": SchoolStage.higher,
        "本科": SchoolStage.higher,
        "大学": SchoolStage.higher,
        "研究生": SchoolStage.higher,
    },
)

RANK_TIER = Vocabulary(
    "职务职级层次",
    {name: tier for tier, name in TIER_NAMES.items()},
    {"厅级": RankTier.departmental, "处级": RankTier.county, "科级": RankTier.township},
)

RANK_TITLE = Vocabulary(
    "职务职级",
    {name: title for title, name in TITLE_NAMES.items()},
    {
        "一巡": RankTitle.inspector_1,
        "二巡": RankTitle.inspector_2,
        "一调": RankTitle.researcher_1,
        "二调": RankTitle.researcher_2,
        "三调": RankTitle.researcher_3,
        "四调": RankTitle.researcher_4,
    },
)

CADRE_KIND = Vocabulary(
    "干部类别",
    {
        "省级领导干部": CadreKind.province_leader,
        "州级领导干部": CadreKind.prefecture_leader,
        "县级领导干部": CadreKind.county_leader,
        "省州帮扶单位干部": CadreKind.partner_unit_cadre,
        "乡镇、县直单位、人民团体、国有企业领导干部": CadreKind.unit_leader,
        "科级以下党员干部": CadreKind.unit_cadre,
        "驻村帮扶干部": CadreKind.resident_village_cadre,
    },
    {
        "单位领导干部": CadreKind.unit_leader,
        "乡镇领导干部": CadreKind.unit_leader,
        "县直单位领导干部": CadreKind.unit_leader,
        "人民团体领导干部": CadreKind.unit_leader,
        "国有企业领导干部": CadreKind.unit_leader,
        "帮扶单位干部": CadreKind.partner_unit_cadre,
        "驻村干部": CadreKind.resident_village_cadre,
    },
    separator="；",
)

NOT_ON = {"无", "否", "未纳入", "不是"}


def parse_dibao(value: Cell) -> tuple[Residence, int] | None:
    """低保: 城市一类 … 农村四类 (also 农村低保二类, 城市 1类); 无 or blank: not on 低保."""
    text = compact(as_text(value))
    if not text or text in NOT_ON:
        return None
    match = re.fullmatch(r"(城市|城镇|农村)(?:低保)?(一|二|三|四|1|2|3|4)[类档]", text)
    if not match:
        raise ValueProblem(
            f"“{shown(value)}”不是可选的值：请填写城市或农村加类别，如“农村一类”"
            "（城市一类、城市二类、城市三类、城市四类、农村一类、农村二类、农村三类、农村四类），未纳入低保的留空"
        )
    grade = "一二三四".find(match.group(2)) + 1 or int(match.group(2))
    return RESIDENCE.parse(match.group(1)), grade


def parse_tekun(value: Cell) -> tuple[Residence, CareSetting | None] | None:
    """特困: 城市 or 农村 (also 农村分散供养); the setting then comes from here or 养育方式."""
    text = compact(as_text(value))
    if not text or text in NOT_ON:
        return None
    match = re.fullmatch(r"(城市|城镇|农村)(?:特困(?:人员)?)?(分散供养|集中供养)?", text)
    if not match:
        raise ValueProblem(
            f"“{shown(value)}”不是可选的值：请填写城市或农村（也可写“农村分散供养”），不是特困人员的留空"
        )
    setting = CARE_SETTING.parse(match.group(2)) if match.group(2) else None
    return RESIDENCE.parse(match.group(1)), setting


def parse_date(value: Cell) -> date:
    """2014-05-17, 2014/5/17, 2014.5.17, 2014年5月17日, 20140517, or a date cell of Excel."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        if float(value).is_integer() and 19000101 <= value <= 21001231:
            return _ymd(str(int(value)), value)
        if 1 <= value < 2958466:  # a date serial number in a cell not formatted as a date
            from openpyxl.utils.datetime import from_excel

            serial = from_excel(value)
            if isinstance(serial, datetime):
                return serial.date()
    # Excel's CSV export may add a time: 2014-05-17 00:00:00
    text = compact(re.sub(r"[ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?$", "", as_text(value)))
    patterns = (
        r"(\d{4})-(\d{1,2})-(\d{1,2})",
        r"(\d{4})/(\d{1,2})/(\d{1,2})",
        r"(\d{4})\.(\d{1,2})\.(\d{1,2})",
        r"(\d{4})年(\d{1,2})月(\d{1,2})日?",
        r"(\d{4})(\d{2})(\d{2})",
    )
    for pattern in patterns:
        match = re.fullmatch(pattern, text)
        if match:
            return _ymd("".join(f"{int(g):02d}" for g in match.groups()), value)
    raise ValueProblem(f"“{shown(value)}”不是日期：请填写如2014-05-17、2014/5/17或2014年5月17日")


def _ymd(digits: str, original: Cell) -> date:
    try:
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        raise ValueProblem(f"“{shown(original)}”不是有效日期：请核对年、月、日") from None


def parse_code(value: Cell, digits: int, what: str) -> str:
    """A statistical division code of `digits` digits (Excel may hold it as a number)."""
    text = compact(as_text(value))
    if not re.fullmatch(rf"\d{{{digits}}}", text):
        raise ValueProblem(f"{what}应为{digits}位数字，当前为“{shown(value)}”")
    return text


def parse_codes(value: Cell, digits: int, what: str) -> tuple[str, ...]:
    codes: list[str] = []
    wrong: list[str] = []
    for part in split_many(value):
        if re.fullmatch(rf"\d{{{digits}}}", part):
            if part not in codes:
                codes.append(part)
        else:
            wrong.append(part)
    if wrong:
        listed = "、".join(f"“{w}”" for w in wrong)
        raise ValueProblem(f"{listed}不是{what}：每个应为{digits}位数字，多个用顿号（、）分隔")
    return tuple(codes)


def parse_text(value: Cell, max_length: int | None = None) -> str:
    text = as_text(value)
    if max_length is not None and len(text) > max_length:
        raise ValueProblem(f"不能超过{max_length}个字，当前为{len(text)}个字")
    return text


def parse_id_text(value: Cell) -> str:
    """An ID number as text; Excel turns an 18-digit number into a float and loses its last digits."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueProblem("身份证号被Excel存成了数字，后几位可能已变成0：请把该列设置为“文本”格式后重新填写")
    return compact(as_text(value)).upper()


def looks_like_id_number(text: str) -> bool:
    return bool(re.fullmatch(r"\d{17}[\dXx]|\d{15}", compact(text)))


def allowed_titles_text(tier: RankTier) -> str:
    return "、".join(TITLE_NAMES[t] for t in TITLE_NAMES if t in ALLOWED_TITLES[tier])
