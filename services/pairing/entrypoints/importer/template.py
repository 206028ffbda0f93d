"""The import templates: every column of the subjects' and the cadres' sheets, and the .xlsx file.

A `Column` names its Chinese header, the API field(s) it fills (so that a refusal naming
`body.guardian.phone` is reported under 监护人电话), whether it must be there, and what it accepts.
`write_template` writes the sheet an operator fills in: the header row, one example row and a
second sheet 填写说明 that explains each column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Any

from services.pairing.entrypoints.importer import values as v
from services.pairing.entrypoints.importer.values import compact
from shared.resident_id import resident_id


class Kind(StrEnum):
    subjects = "subjects"
    cadres = "cadres"


@dataclass(frozen=True)
class Column:
    header: str
    fields: tuple[str, ...]  # the API fields it fills, dotted ("guardian.phone")
    help: str
    accepted: str = ""
    required: bool = False  # the column must be there and every row must fill it
    column_required: bool = False  # the column must be there; rows may leave it empty
    example: str | int | date = ""
    aliases: tuple[str, ...] = ()
    text: bool = False  # kept as text in Excel: ID numbers, phones, codes
    choices: tuple[str, ...] = ()  # offered as a drop-down list in the template

    @property
    def must_be_present(self) -> bool:
        return self.required or self.column_required


@dataclass(frozen=True)
class Sheet:
    kind: Kind
    title: str  # the data sheet's name in the template
    columns: tuple[Column, ...]
    notes: tuple[str, ...] = field(default=())

    def column(self, header: str) -> Column:
        return next(c for c in self.columns if c.header == header)

    @property
    def headers(self) -> list[str]:
        return [c.header for c in self.columns]

    def header_for_field(self, path: str) -> str:
        """The column an API field belongs to: `body.guardian.phone` → 监护人电话; "" if none."""
        path = path.removeprefix("body.").removeprefix("body")
        best, best_length = "", -1
        for column in self.columns:
            for name in column.fields:
                if (path == name or path.startswith(name + ".")) and len(name) > best_length:
                    best, best_length = column.header, len(name)
        return best


def header_key(text: str) -> str:
    """How headers are compared: spaces, brackets, dashes, `*` and a trailing 必填 do not matter."""
    key = compact(text)
    key = re.sub(r"[（(\[【]?必填[)）\]】]?$", "", key)
    return re.sub(r"[*＊()（）\[\]【】\-_－—:：/]", "", key)


def _choices(vocabulary: v.Vocabulary[Any]) -> tuple[str, ...]:
    return tuple(vocabulary.accepted)


def _example_id_number(born: date, female: bool) -> str:
    return resident_id("622925", born, 2 if female else 1)


ADDRESS_PARTS = (
    ("省", "province", "甘肃省"),
    ("市州", "prefecture", "临夏回族自治州"),
    ("县", "county", "和政县"),
    ("乡镇", "township", "城关镇"),
    ("村", "village", "某某村"),
    ("详细地址", "detail", "三社12号"),
)

GIRL_BORN = date(2014, 5, 17)
GRANDMOTHER_BORN = date(1958, 3, 2)
EXAMPLE_MARK = "示例"

def _name_column(whose_name: str, example: str) -> Column:
    return Column(
        "姓名",
        ("name",),
        f"{whose_name}。姓名以“示例”开头的行是模板的示例行，导入时忽略。",
        "不超过40个字",
        required=True,
        example=f"{EXAMPLE_MARK}：{example}",
    )


def _birth_date_column(note: str, formats: str, example: date) -> Column:
    return Column(
        "出生日期",
        ("birth_date",),
        note,
        f"{formats}，或Excel日期",
        required=True,
        example=example,
        aliases=("出生年月日",),
    )


_GENDER_COLUMN = Column(
    "性别", ("gender",), "", v.GENDER.accepted_text(), required=True, example="女", choices=_choices(v.GENDER)
)


SUBJECT_COLUMNS: tuple[Column, ...] = (
    Column(
        "户编号",
        ("household_id",),
        "同一户的关爱对象填写相同的户编号（在本村内不重复，如1、2、3）；同户的几人由同一名干部结对。"
        "留空则此人单独成户。户编号会以明文保存，不能填写身份证号。",
        "不超过40个字",
        example="1",
        aliases=("户号", "家庭编号"),
        text=True,
    ),
    _name_column("关爱对象的姓名", "马小花"),
    _GENDER_COLUMN,
    Column("民族", ("ethnicity",), "", "不超过20个字，如汉族、回族、东乡族", example="回族"),
    _birth_date_column(
        "须与身份证号中的出生日期一致。", "如2014-05-17、2014/5/17、2014年5月17日", GIRL_BORN
    ),
    Column(
        "身份证号",
        ("id_number",),
        "18位公民身份号码；出生日期和性别须与所填一致。同一身份证号已登记的，再次导入时跳过。",
        "18位，最后一位可为X；请把该列设为“文本”格式",
        required=True,
        example=_example_id_number(GIRL_BORN, female=True),
        aliases=("身份证号码", "公民身份号码", "身份证"),
        text=True,
    ),
    Column(
        "联系电话",
        ("phone",),
        "",
        "11位手机号或带区号的固定电话（如0930-5521234），可留空",
        aliases=("电话", "手机号", "联系方式"),
        text=True,
    ),
    Column(
        "类别",
        ("category", "orphan_type"),
        "关爱对象的类别。",
        v.CATEGORY.accepted_text(),
        required=True,
        example="孤儿",
        aliases=("关爱对象类别", "对象类别"),
        choices=_choices(v.CATEGORY),
    ),
    Column(
        "父母情况",
        ("parents_situation",),
        "事实无人抚养儿童必填：父母各自的情形，可填几项。",
        v.PARENTS.accepted_text() + "；多个用顿号（、）分隔",
    ),
    Column(
        "养育方式",
        ("care_setting", "tekun.setting"),
        "孤儿、事实无人抚养儿童填机构养育或社会散居；特困人员填分散供养或集中供养；"
        "困难重度残疾人填居家或在机构接受治疗和服务。",
        v.CARE_SETTING.accepted_text(),
        example="社会散居",
        choices=_choices(v.CARE_SETTING),
    ),
    Column(
        "残疾类别",
        ("disability_types",),
        "有残疾的填写，可填几项。",
        v.DISABILITY.accepted_text() + "；多个用顿号（、）分隔",
    ),
    Column(
        "残疾等级",
        ("disability_level",),
        "困难重度残疾人须为一级或二级。",
        v.DISABILITY_LEVEL.accepted_text(),
        choices=_choices(v.DISABILITY_LEVEL),
    ),
    Column(
        "残疾人证号",
        ("disability_certificate",),
        "困难重度残疾人必填。",
        "不超过30个字",
        text=True,
        aliases=("残疾证号",),
    ),
    Column(
        "低保",
        ("dibao",),
        "纳入最低生活保障的填写城乡和类别；困难重度残疾人须纳入低保。未纳入的留空。",
        "城市一类、城市二类、城市三类、城市四类、农村一类、农村二类、农村三类、农村四类",
        choices=tuple(f"{a}{g}类" for a in ("城市", "农村") for g in "一二三四"),
    ),
    Column(
        "特困",
        ("tekun",),
        "特困人员填写城市或农村，供养方式填在“养育方式”列（也可直接写“农村分散供养”）。不是特困人员的留空。",
        "城市、农村",
        choices=("城市", "农村"),
    ),
    Column("自理能力", ("self_care",), "", v.SELF_CARE.accepted_text(), choices=_choices(v.SELF_CARE)),
    Column("失能", ("incapacitated",), "", "是、否（留空为否）", example="否", choices=("是", "否")),
    Column(
        "在读阶段",
        ("school_stage",),
        "",
        v.SCHOOL_STAGE.accepted_text(),
        example="小学",
        choices=_choices(v.SCHOOL_STAGE),
    ),
    Column("健康状况", ("health",), "", "不超过200个字，如健康、慢性病", example="健康"),
    Column(
        "常住地县代码",
        ("residence.county_code",),
        "常住地的县级统计用区划代码；决定由哪里的干部结对。常住地在省外的可留空。",
        "6位数字，如622925",
        column_required=True,
        example="622925",
        text=True,
    ),
    Column(
        "常住地乡镇代码",
        ("residence.township_code",),
        "须以县代码开头。",
        "9位数字，如622925100",
        column_required=True,
        example="622925100",
        text=True,
    ),
    Column(
        "常住地村代码",
        ("residence.village_code",),
        "村（社区）代码，须以乡镇代码开头。",
        "12位数字，如622925100201",
        column_required=True,
        example="622925100201",
        text=True,
    ),
    Column(
        "常住地在省外",
        ("residence.outside_province",),
        "常住地在外省的填“是”，三个代码可留空。",
        "是、否（留空为否）",
        choices=("是", "否"),
    ),
    *(
        Column(
            f"常住地址（{part}）",
            (f"residence_address.{name}",),
            "",
            "不超过200个字" if name == "detail" else "不超过40个字",
            example=example,
        )
        for part, name, example in ADDRESS_PARTS
    ),
    Column(
        "户籍地县代码", ("registered_place.county_code",), "户籍地与常住地不同时填写。", "6位数字", text=True
    ),
    Column("户籍地乡镇代码", ("registered_place.township_code",), "", "9位数字", text=True),
    Column("户籍地村代码", ("registered_place.village_code",), "", "12位数字", text=True),
    *(
        Column(
            f"户籍地址（{part}）",
            (f"registered_address.{name}",),
            "",
            "不超过200个字" if name == "detail" else "不超过40个字",
        )
        for part, name, _ in ADDRESS_PARTS
    ),
    Column(
        "监护人姓名",
        ("guardian.name",),
        "有监护人的填写；填了任一监护人列，则姓名、性别、关系必填。",
        "不超过40个字",
        example="马奶奶",
    ),
    Column(
        "监护人性别",
        ("guardian.gender",),
        "",
        v.GENDER.accepted_text(),
        example="女",
        choices=_choices(v.GENDER),
    ),
    Column(
        "监护人关系",
        ("guardian.relation",),
        "监护人与关爱对象的关系。",
        "不超过20个字，如祖母、叔父",
        example="祖母",
        aliases=("与关爱对象关系", "监护人与关爱对象关系"),
    ),
    Column(
        "监护人电话",
        ("guardian.phone",),
        "",
        "11位手机号或带区号的固定电话",
        example="13800138000",
        text=True,
    ),
    Column("监护人出生日期", ("guardian.birth_date",), "", "同出生日期", example=GRANDMOTHER_BORN),
    Column(
        "监护人身份证号",
        ("guardian.id_number",),
        "出生日期和性别须与所填一致。",
        "18位",
        example=_example_id_number(GRANDMOTHER_BORN, female=True),
        text=True,
    ),
)

CADRE_COLUMNS: tuple[Column, ...] = (
    _name_column("干部姓名", "李芳"),
    _GENDER_COLUMN,
    Column("民族", ("ethnicity",), "", "不超过20个字", example="汉族"),
    _birth_date_column(
        "同一单位同名同出生日期的干部视为已登记，再次导入时跳过。",
        "如1980-03-01、1980/3/1、1980年3月1日",
        date(1980, 3, 1),
    ),
    Column(
        "联系电话",
        ("phone",),
        "",
        "11位手机号或带区号的固定电话",
        example="13900139000",
        aliases=("电话", "手机号", "联系方式"),
        text=True,
    ),
    Column(
        "单位编号",
        ("unit_id",),
        "本系统中单位的编号；同一单位的干部填写相同的编号。",
        "不超过64个字",
        required=True,
        example="u-civil",
        text=True,
    ),
    Column(
        "单位名称",
        ("unit_name",),
        "",
        "不超过100个字",
        required=True,
        example="和政县民政局",
        aliases=("工作单位", "单位"),
    ),
    Column("职务", ("post",), "", "不超过100个字", example="局长"),
    Column(
        "职务职级层次",
        ("rank.tier",),
        "按附件3填写。",
        v.RANK_TIER.accepted_text(),
        required=True,
        example="乡科级",
        choices=_choices(v.RANK_TIER),
    ),
    Column(
        "职务职级",
        ("rank", "rank.title"),
        "按附件3填写，须是所填层次中有的职务职级（各层次可选的值见下方说明）。",
        v.RANK_TITLE.accepted_text(),
        required=True,
        example="正职",
        choices=_choices(v.RANK_TITLE),
    ),
    Column("是否党员", ("party_member",), "", "是、否", required=True, example="是", choices=("是", "否")),
    Column(
        "干部类别",
        ("kind",),
        "决定适用哪条结对规则。",
        v.CADRE_KIND.accepted_text(),
        required=True,
        example="乡镇、县直单位、人民团体、国有企业领导干部",
        choices=_choices(v.CADRE_KIND),
    ),
    Column(
        "联系乡镇代码",
        ("links.township_codes",),
        "单位的乡村振兴联系乡镇。",
        "9位数字；多个用顿号（、）分隔",
        text=True,
    ),
    Column(
        "联系村代码",
        ("links.village_codes",),
        "单位的乡村振兴联系村。",
        "12位数字；多个用顿号（、）分隔",
        example="622925100201",
        text=True,
    ),
    Column("驻村村代码", ("links.resident_village_code",), "驻村帮扶干部所驻的村。", "12位数字", text=True),
    Column(
        "驻村乡镇代码",
        ("links.resident_township_code",),
        "驻村帮扶干部必填（留空时取驻村村代码的前9位）。",
        "9位数字",
        text=True,
    ),
)

SUBJECTS = Sheet(
    Kind.subjects,
    "关爱对象",
    SUBJECT_COLUMNS,
    (
        "第1行是表头，请勿修改列名；列的先后顺序可以调整，用不到的非必填列可以删除。",
        "第2行是示例（姓名以“示例”开头），导入时自动忽略，可以删除。",
        "身份证号、电话和各种代码请保持“文本”格式，否则Excel会把身份证号后几位变成0。",
        "可选值一栏列出的写法之外，常见的写法（如“视力残疾”“失联”“完全自理”）也能识别。",
        "有问题的行不会导入，其余行照常导入；问题写在导入报告里（行号、列、问题）。",
        "同一个文件可以反复导入：已登记的人（身份证号相同）会跳过，不会重复登记。",
    ),
)

CADRES = Sheet(
    Kind.cadres,
    "结对干部",
    CADRE_COLUMNS,
    (
        "第1行是表头，请勿修改列名；列的先后顺序可以调整，用不到的非必填列可以删除。",
        "第2行是示例（姓名以“示例”开头），导入时自动忽略，可以删除。",
        "各种代码请保持“文本”格式。",
        "职务职级须是所填层次中有的："
        + "；".join(f"{name}：{v.allowed_titles_text(tier)}" for name, tier in v.RANK_TIER.names.items()),
        "有问题的行不会导入，其余行照常导入；问题写在导入报告里（行号、列、问题）。",
        "同一个文件可以反复导入：同一单位同名同出生日期的干部会跳过，不会重复登记。",
    ),
)

SHEETS = {Kind.subjects: SUBJECTS, Kind.cadres: CADRES}


def write_template(kind: Kind, path: Path) -> None:
    """Writes the .xlsx template: header row, one example row, and the 填写说明 sheet."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    sheet = SHEETS[kind]
    book = Workbook()
    data = book.active
    assert data is not None
    data.title = sheet.title
    required_fill = PatternFill("solid", fgColor="FFF2CC")
    for index, column in enumerate(sheet.columns, start=1):
        letter = get_column_letter(index)
        dimension = data.column_dimensions[letter]
        dimension.width = max(10, min(40, len(column.header) * 2 + 4, len(str(column.example)) * 1.3 + 4))
        if column.text:
            dimension.number_format = "@"
        cell = data.cell(row=1, column=index, value=column.header)
        cell.font = Font(bold=True, color="C00000" if column.required else "000000")
        if column.must_be_present:
            cell.fill = required_fill
        example = data.cell(row=2, column=index, value=column.example if column.example != "" else None)
        if isinstance(column.example, date):
            example.number_format = "yyyy-mm-dd"
        elif column.text:
            example.number_format = "@"
        example.font = Font(color="808080")
        if column.choices:
            joined = ",".join(column.choices)
            if len(joined) <= 250:
                check = DataValidation(type="list", formula1=f'"{joined}"', allow_blank=True)
                check.errorStyle = "warning"  # the importer accepts common variants too
                check.error = f"可选的值：{column.accepted}"
                data.add_data_validation(check)
                check.add(f"{letter}2:{letter}20000")
    data.freeze_panes = "A2"

    notes = book.create_sheet("填写说明")
    wrap = Alignment(wrap_text=True, vertical="top")
    notes.append(["列名", "必填", "说明", "可填写的值", "示例"])
    for cell in notes[1]:
        cell.font = Font(bold=True)
    for column in sheet.columns:
        need = "必填" if column.required else ("须有此列，可留空" if column.column_required else "")
        example = column.example.isoformat() if isinstance(column.example, date) else str(column.example)
        notes.append([column.header, need, column.help, column.accepted, example])
    notes.append([])
    for note in sheet.notes:
        notes.append(["说明", "", note])
    for letter, width in zip("ABCDE", (20, 16, 60, 60, 24), strict=True):
        notes.column_dimensions[letter].width = width
    for row in notes.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = wrap
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
