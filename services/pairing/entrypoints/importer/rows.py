"""One row of the sheet → the body of `POST /subjects` or `POST /cadres`, with every problem it has.

A row is read column by column and every problem is kept (column and reason in Chinese), so the
operator fixes a row once rather than once per problem. When a subject's row already has
problems, the eligibility rules are checked too (the server would check them only after the
row is fixed); a row without problems is judged by the server, whose word is final.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

from pydantic import ValidationError

from services.pairing.domain.eligibility import EligibilityFacts, check_eligibility
from services.pairing.domain.identity import InvalidIdentity, check_phone, check_resident_id
from services.pairing.domain.rank import ALLOWED_TITLES, TIER_NAMES, TITLE_NAMES
from services.pairing.entrypoints.importer import values as v
from services.pairing.entrypoints.importer.reader import Row
from services.pairing.entrypoints.importer.template import CADRES, EXAMPLE_MARK, SUBJECTS, Kind, Sheet
from services.pairing.entrypoints.importer.values import Cell, ValueProblem, is_blank
from services.pairing.entrypoints.schemas import CadreCreate, SubjectCreate
from shared.contracts.people import CareSetting, Dibao, Residence, Tekun

T = TypeVar("T")

# Which column a refusal of the eligibility rules (or of the cadre rules) is about.
REFUSAL_COLUMNS = {
    "subject_deceased": "",
    "birth_date_in_future": "出生日期",
    "orphan_type_missing": "类别",
    "parents_situation_missing": "父母情况",
    "orphan_adult": "出生日期",
    "care_setting_missing": "养育方式",
    "institution_orphan_mental_or_intellectual": "残疾类别",
    "no_disability_certificate": "残疾人证号",
    "disability_level_not_severe": "残疾等级",
    "not_on_dibao": "低保",
    "disabled_in_institution": "养育方式",
    "not_tekun": "特困",
    "tekun_concentrated": "养育方式",
    "resident_village_missing": "驻村乡镇代码",
}


@dataclass(frozen=True)
class Problem:
    column: str  # the template's header; "" when it is about the whole row
    message: str


@dataclass
class Prepared:
    """A row made ready: the body to send, or the problems that keep it from being sent."""

    number: int
    body: dict[str, Any] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    duplicate_key: str = ""  # what makes two rows the same person, to find repeats in one file
    example: bool = False  # the template's example row: ignored

    @property
    def ok(self) -> bool:
        return not self.problems


class Cells:
    """A row's cells, read one column at a time; problems are collected, never raised."""

    def __init__(self, row: Row) -> None:
        self.values = row.values
        self.problems: list[Problem] = []

    def given(self, header: str) -> bool:
        return not is_blank(self.values.get(header))

    def failed(self, header: str) -> bool:
        return any(p.column == header for p in self.problems)

    def problem(self, header: str, message: str) -> None:
        self.problems.append(Problem(header, message))

    def take(self, header: str, parse: Callable[[Cell], T], *, required: bool = False) -> T | None:
        value = self.values.get(header)
        if is_blank(value):
            if required:
                self.problem(header, "必填，不能为空")
            return None
        try:
            return parse(value)
        except ValueProblem as exc:
            self.problem(header, str(exc))
        except InvalidIdentity as exc:
            self.problem(header, str(exc))
        return None


def text(max_length: int) -> Callable[[Cell], str]:
    return lambda value: v.parse_text(value, max_length)


def code(digits: int, what: str) -> Callable[[Cell], str]:
    return lambda value: v.parse_code(value, digits, what)


def codes(digits: int, what: str) -> Callable[[Cell], tuple[str, ...]]:
    return lambda value: v.parse_codes(value, digits, what)


def phone(value: Cell) -> str:
    return check_phone(v.compact(v.as_text(value)))


def is_example(row: Row) -> bool:
    name = row.values.get("姓名")
    return isinstance(name, str) and v.compact(name).startswith(EXAMPLE_MARK)


def prepare(kind: Kind, row: Row, today: date) -> Prepared:
    return prepare_subject(row, today) if kind is Kind.subjects else prepare_cadre(row)


def prepare_all(kind: Kind, rows: Iterable[Row], today: date) -> list[Prepared]:
    """Every row prepared, and a person who appears twice in the file reported at the second row.

    `today` is the programme's date, which eligibility (an orphan's 18th birthday) is judged on.
    """
    checker = Checker(kind, today)
    return [checker.prepare(row) for row in rows]


class Checker:
    """Prepares a file's rows one after the other, each compared with the rows before it.

    A person who appears twice is reported at the second row, so a row's problems are known as
    soon as it is prepared: an import can send the rows checked while it checks the next ones.
    """

    def __init__(self, kind: Kind, today: date) -> None:
        self.kind = kind
        self.today = today
        self._first_seen: dict[str, int] = {}

    def prepare(self, row: Row) -> Prepared:
        item = prepare(self.kind, row, self.today)
        if item.example or not item.duplicate_key:
            return item
        earlier = self._first_seen.setdefault(item.duplicate_key, item.number)
        if earlier != item.number:
            if self.kind is Kind.subjects:
                same = f"与第{earlier}行的身份证号相同：同一人只能登记一次"
                item.problems.append(Problem("身份证号", same))
            else:
                item.problems.append(
                    Problem("姓名", f"与第{earlier}行是同一单位同名同出生日期的干部：同一人只能登记一次")
                )
        return item


# --- subjects -----------------------------------------------------------------------------


def prepare_subject(row: Row, today: date) -> Prepared:
    c = Cells(row)
    name = c.take("姓名", text(40), required=True)
    gender = c.take("性别", v.GENDER.parse, required=True)
    ethnicity = c.take("民族", text(20)) or ""
    born = c.take("出生日期", v.parse_date, required=True)
    id_text = c.take("身份证号", v.parse_id_text, required=True)
    id_number = ""
    if id_text:
        try:
            id_number = check_resident_id(
                id_text,
                birth_date=born if not c.failed("出生日期") else None,
                gender=gender if not c.failed("性别") else None,
            ).number
        except InvalidIdentity as exc:
            c.problem("身份证号", str(exc))
    contact = c.take("联系电话", phone) or ""
    category = c.take("类别", v.CATEGORY.parse, required=True)
    parents = c.take("父母情况", v.PARENTS.parse_many) or ()
    care = c.take("养育方式", v.CARE_SETTING.parse)
    disability_types = c.take("残疾类别", v.DISABILITY.parse_many) or ()
    level = c.take("残疾等级", v.DISABILITY_LEVEL.parse)
    certificate = c.take("残疾人证号", text(30)) or ""
    dibao = c.take("低保", v.parse_dibao)
    tekun_cell = c.take("特困", v.parse_tekun)
    tekun: tuple[Residence, CareSetting] | None = None
    if tekun_cell is not None:
        area, setting = tekun_cell
        if setting is not None and care is not None and setting is not care:
            c.problem("特困", f"供养方式与“养育方式”列的“{v.as_text(c.values.get('养育方式'))}”不一致")
        elif setting is None and care is None and not c.failed("养育方式"):
            c.problem("养育方式", "特困人员须填写供养方式：分散供养或集中供养")
        chosen = setting or care
        if chosen is not None:
            tekun = (area, chosen)
            care = care or chosen
    self_care = c.take("自理能力", v.SELF_CARE.parse)
    incapacitated = c.take("失能", v.YES_NO.parse) or False
    school = c.take("在读阶段", v.SCHOOL_STAGE.parse)
    health = c.take("健康状况", text(200)) or ""

    residence = _place(c, "常住地", required=not (c.take("常住地在省外", v.YES_NO.parse) or False))
    registered = _place(c, "户籍地", required=False)
    household = _household(c, residence)

    body: dict[str, Any] = {
        "name": name,
        "gender": gender,
        "ethnicity": ethnicity,
        "birth_date": born.isoformat() if born else None,
        "id_number": id_number,
        "phone": contact,
        "registered_address": _address(c, "户籍地址"),
        "residence_address": _address(c, "常住地址"),
        "registered_place": registered,
        "residence": residence,
        "health": health,
        "disability_types": [t.value for t in disability_types],
        "disability_level": level,
        "disability_certificate": certificate,
        "category": category[0] if category else None,
        "orphan_type": category[1] if category else None,
        "parents_situation": [p.value for p in parents],
        "care_setting": care,
        "dibao": {"area": dibao[0], "grade": dibao[1]} if dibao else None,
        "tekun": {"area": tekun[0], "setting": tekun[1]} if tekun else None,
        "self_care": self_care,
        "incapacitated": incapacitated,
        "school_stage": school,
        "guardian": _guardian(c),
    }
    if household:
        body["household_id"] = household
    if c.problems and category is not None and born is not None:
        _eligibility(
            c, today, category, born, parents, care, disability_types, level, certificate, dibao, tekun
        )
    return _finish(row, c, body, SubjectCreate, SUBJECTS, duplicate_key=id_number)


def _place(c: Cells, prefix: str, *, required: bool) -> dict[str, Any]:
    county = c.take(f"{prefix}县代码", code(6, "县代码"))
    township = c.take(f"{prefix}乡镇代码", code(9, "乡镇代码"))
    village = c.take(f"{prefix}村代码", code(12, "村代码"))
    if required:
        for header, value in (("县代码", county), ("乡镇代码", township), ("村代码", village)):
            if value is None and not c.failed(prefix + header):
                c.problem(prefix + header, "必填，不能为空（常住地在省外的请在“常住地在省外”填“是”）")
    if county and township and not township.startswith(county):
        c.problem(f"{prefix}乡镇代码", f"乡镇代码{township}不属于县代码{county}：乡镇代码的前6位应为县代码")
    if township and village and not village.startswith(township):
        c.problem(f"{prefix}村代码", f"村代码{village}不属于乡镇代码{township}：村代码的前9位应为乡镇代码")
    place: dict[str, Any] = {
        "county_code": county or "",
        "township_code": township or "",
        "village_code": village or "",
    }
    if prefix == "常住地" and not required:
        place["outside_province"] = True
    return place


def _address(c: Cells, prefix: str) -> dict[str, str]:
    parts = {"province": "省", "prefecture": "市州", "county": "县", "township": "乡镇", "village": "村"}
    address = {name: c.take(f"{prefix}（{part}）", text(40)) or "" for name, part in parts.items()}
    address["detail"] = c.take(f"{prefix}（详细地址）", text(200)) or ""
    return address


def _household(c: Cells, residence: dict[str, Any]) -> str:
    """户编号 is unique within a village: the household's id is the village's code and the number."""
    number = c.take("户编号", text(40))
    if not number:
        return ""
    if v.looks_like_id_number(number):
        c.problem("户编号", "户编号会以明文保存，不能填写身份证号：请改用村内的户序号，如1、2、3")
        return ""
    scope = residence["village_code"] or residence["township_code"] or residence["county_code"] or "省外"
    return f"h-{scope}-{v.compact(number)}"


GUARDIAN_COLUMNS = (
    "监护人姓名",
    "监护人性别",
    "监护人关系",
    "监护人电话",
    "监护人出生日期",
    "监护人身份证号",
)


def _guardian(c: Cells) -> dict[str, Any] | None:
    if not any(c.given(h) for h in GUARDIAN_COLUMNS):
        return None
    name = c.take("监护人姓名", text(40), required=True)
    gender = c.take("监护人性别", v.GENDER.parse, required=True)
    relation = c.take("监护人关系", text(20), required=True)
    contact = c.take("监护人电话", phone) or ""
    born = c.take("监护人出生日期", v.parse_date)
    id_text = c.take("监护人身份证号", v.parse_id_text)
    id_number = ""
    if id_text:
        try:
            id_number = check_resident_id(
                id_text,
                field="guardian.id_number",
                birth_date=born,
                gender=gender if not c.failed("监护人性别") else None,
            ).number
        except InvalidIdentity as exc:
            c.problem("监护人身份证号", str(exc))
    return {
        "name": name,
        "gender": gender,
        "relation": relation,
        "phone": contact,
        "birth_date": born.isoformat() if born else None,
        "id_number": id_number,
    }


def _eligibility(
    c: Cells,
    today: date,
    category: tuple[Any, Any],
    born: date,
    parents: tuple[Any, ...],
    care: CareSetting | None,
    disability_types: tuple[Any, ...],
    level: int | None,
    certificate: str,
    dibao: tuple[Residence, int] | None,
    tekun: tuple[Residence, CareSetting] | None,
) -> None:
    """The rules of who is a 关爱对象, for a row that will not be sent as it is."""
    facts = EligibilityFacts(
        category=category[0],
        birth_date=born,
        orphan_type=category[1],
        parents_situation=parents,
        care_setting=care,
        disability_types=disability_types,
        disability_level=level,
        disability_certificate=certificate,
        dibao=Dibao(area=dibao[0], grade=dibao[1]) if dibao else None,
        tekun=Tekun(area=tekun[0], setting=tekun[1]) if tekun else None,
    )
    for refusal in check_eligibility(facts, today):
        column = REFUSAL_COLUMNS.get(refusal.code, "")
        if column and c.failed(column):
            continue  # that column's own problem already says it
        if refusal.code == "not_tekun" and c.given("特困"):
            continue  # filled in, but its setting is missing: 养育方式 says so
        c.problem(column, refusal.message)


# --- cadres -------------------------------------------------------------------------------


def prepare_cadre(row: Row) -> Prepared:
    c = Cells(row)
    name = c.take("姓名", text(40), required=True)
    gender = c.take("性别", v.GENDER.parse, required=True)
    ethnicity = c.take("民族", text(20)) or ""
    born = c.take("出生日期", v.parse_date, required=True)
    contact = c.take("联系电话", phone) or ""
    unit_id = c.take("单位编号", text(64), required=True)
    unit_name = c.take("单位名称", text(100), required=True)
    post = c.take("职务", text(100)) or ""
    tier = c.take("职务职级层次", v.RANK_TIER.parse, required=True)
    title = c.take("职务职级", v.RANK_TITLE.parse, required=True)
    if tier is not None and title is not None and title not in ALLOWED_TITLES[tier]:
        c.problem(
            "职务职级",
            f"{TIER_NAMES[tier]}没有“{TITLE_NAMES[title]}”：{TIER_NAMES[tier]}可填{v.allowed_titles_text(tier)}",
        )
    party = c.take("是否党员", v.PARTY_MEMBER.parse, required=True)
    kind = c.take("干部类别", v.CADRE_KIND.parse, required=True)
    townships = c.take("联系乡镇代码", codes(9, "乡镇代码")) or ()
    villages = c.take("联系村代码", codes(12, "村代码")) or ()
    resident_village = c.take("驻村村代码", code(12, "村代码")) or ""
    resident_township = c.take("驻村乡镇代码", code(9, "乡镇代码")) or ""
    if resident_village and not resident_township and not c.failed("驻村乡镇代码"):
        resident_township = resident_village[:9]  # division codes nest: a village's first 9 digits
    elif resident_village and resident_township and not resident_village.startswith(resident_township):
        c.problem("驻村村代码", f"驻村村代码{resident_village}不属于驻村乡镇代码{resident_township}")
    if (
        kind is not None
        and kind.value == "resident_village_cadre"
        and not resident_township
        and not c.failed("驻村村代码")
        and not c.failed("驻村乡镇代码")
    ):
        c.problem("驻村村代码", "驻村帮扶干部须填写所驻村的村代码（或驻村乡镇代码）")
    body: dict[str, Any] = {
        "name": name,
        "gender": gender,
        "ethnicity": ethnicity,
        "birth_date": born.isoformat() if born else None,
        "phone": contact,
        "unit_id": unit_id,
        "unit_name": unit_name,
        "post": post,
        "rank": {"tier": tier, "title": title},
        "party_member": party,
        "kind": kind,
        "links": {
            "township_codes": list(townships),
            "village_codes": list(villages),
            "resident_village_code": resident_village,
            "resident_township_code": resident_township,
        },
    }
    key = (
        "\x1f".join(v.compact(str(p)).upper() for p in (name, born, unit_id))
        if name and born and unit_id
        else ""
    )
    return _finish(row, c, body, CadreCreate, CADRES, duplicate_key=key)


# --- both ---------------------------------------------------------------------------------


def _finish(
    row: Row,
    c: Cells,
    body: dict[str, Any],
    model: type[SubjectCreate] | type[CadreCreate],
    sheet: Sheet,
    *,
    duplicate_key: str,
) -> Prepared:
    example = is_example(row)
    if not c.problems:
        # The API's own model has the last word on shapes and lengths before anything is sent.
        try:
            model.model_validate(body)
        except ValidationError as exc:
            for error in exc.errors():
                path = ".".join(str(p) for p in error.get("loc", ()))
                c.problem(sheet.header_for_field(path), pydantic_message(error))
    return Prepared(
        row.number,
        _json(body) if not c.problems else {},
        c.problems,
        duplicate_key,
        example,
    )


def _json(value: Any) -> Any:
    """The body as JSON: enums as their values, dates as ISO text."""
    if isinstance(value, dict):
        return {k: _json(item) for k, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json(item) for item in value]
    if isinstance(value, date):
        return value.isoformat()
    if hasattr(value, "value") and isinstance(value.value, str):
        return value.value
    return value


def pydantic_message(error: Any) -> str:
    kind = error.get("type", "")
    context = error.get("ctx") or {}
    if kind == "missing":
        return "必填，不能为空"
    if kind == "string_too_long":
        return f"不能超过{context.get('max_length')}个字"
    if kind == "string_too_short":
        return "不能为空" if context.get("min_length") == 1 else f"至少{context.get('min_length')}个字"
    return f"填写有误：{error.get('msg', '')}"
