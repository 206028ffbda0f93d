"""The importer's value mapping and row checks: Chinese values → the API, every problem reported."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest

from services.pairing.entrypoints.importer import values as v
from services.pairing.entrypoints.importer.reader import Row
from services.pairing.entrypoints.importer.rows import prepare_all, prepare_cadre, prepare_subject
from services.pairing.entrypoints.importer.template import CADRES, SUBJECTS, Kind, header_key
from services.pairing.entrypoints.importer.values import ValueProblem
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
from tests.support.identity import resident_id

TODAY = date(2026, 11, 29)  # the programme's date the rows are judged on


def subject_row(number: int = 2, **changes: Any) -> Row:
    born = date(2014, 5, 17)
    values: dict[str, Any] = {
        "户编号": "7",
        "姓名": "马小花",
        "性别": "女",
        "出生日期": "2014-05-17",
        "身份证号": resident_id("622925", born, True),
        "类别": "孤儿",
        "养育方式": "社会散居",
        "常住地县代码": "622925",
        "常住地乡镇代码": "622925100",
        "常住地村代码": "622925100201",
        "监护人姓名": "马奶奶",
        "监护人性别": "女",
        "监护人关系": "祖母",
        "监护人电话": "13800138000",
    }
    values.update(changes)
    return Row(number, {k: x for k, x in values.items() if x is not None})


def cadre_row(number: int = 2, **changes: Any) -> Row:
    values: dict[str, Any] = {
        "姓名": "李芳",
        "性别": "女",
        "出生日期": "1980-03-01",
        "联系电话": "13900139000",
        "单位编号": "u-civil",
        "单位名称": "和政县民政局",
        "职务": "局长",
        "职务职级层次": "乡科级",
        "职务职级": "正职",
        "是否党员": "是",
        "干部类别": "乡镇、县直单位、人民团体、国有企业领导干部",
        "联系村代码": "622925100201、622925100202",
    }
    values.update(changes)
    return Row(number, {k: x for k, x in values.items() if x is not None})


def columns(problems: list[Any]) -> list[str]:
    return [p.column for p in problems]


# --- values -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2014-05-17", date(2014, 5, 17)),
        ("2014/5/17", date(2014, 5, 17)),
        ("2014年5月17日", date(2014, 5, 17)),
        ("2014年05月17日", date(2014, 5, 17)),
        ("2014.5.17", date(2014, 5, 17)),
        ("20140517", date(2014, 5, 17)),
        ("２０１４－０５－１７", date(2014, 5, 17)),
        (" 2014-05-17 00:00:00 ", date(2014, 5, 17)),
        ("2014/5/7 0:00", date(2014, 5, 7)),
        (datetime(2014, 5, 17), date(2014, 5, 17)),
        (date(2014, 5, 17), date(2014, 5, 17)),
        (41776, date(2014, 5, 17)),  # an Excel serial in a cell not formatted as a date
        (20140517, date(2014, 5, 17)),
    ],
)
def test_dates_in_every_accepted_form(text: Any, expected: date) -> None:
    assert v.parse_date(text) == expected


@pytest.mark.parametrize("text", ["17/05/2014", "五月", "2014-5"])
def test_a_wrong_date_says_what_is_accepted(text: str) -> None:
    with pytest.raises(ValueProblem, match="2014-05-17、2014/5/17或2014年5月17日"):
        v.parse_date(text)


@pytest.mark.parametrize("text", ["2014-02-30", "2014-13-01", "2014年4月31日"])
def test_a_date_that_does_not_exist_is_refused(text: str) -> None:
    with pytest.raises(ValueProblem, match="不是有效日期"):
        v.parse_date(text)


def test_every_vocabulary_maps_its_chinese_names() -> None:
    assert v.GENDER.parse("男") is Gender.male and v.GENDER.parse(" 女性 ") is Gender.female
    assert v.CATEGORY.parse("孤儿") == (SubjectCategory.orphan, OrphanType.orphan)
    assert v.CATEGORY.parse("事实无人抚养儿童") == (SubjectCategory.orphan, OrphanType.de_facto_orphan)
    assert v.CATEGORY.parse("困难重度残疾人") == (SubjectCategory.severely_disabled, None)
    assert v.CATEGORY.parse("特困人员") == (SubjectCategory.extreme_poverty, None)
    assert v.PARENTS.parse_many("死亡、服刑在押,被遣送（驱逐）出境") == (
        ParentSituation.deceased,
        ParentSituation.imprisoned,
        ParentSituation.deported,
    )
    assert v.PARENTS.parse_many("失联，重残") == (ParentSituation.missing, ParentSituation.severe_disability)
    assert v.CARE_SETTING.parse("机构养育") is CareSetting.institution
    assert v.CARE_SETTING.parse("社会散居") is CareSetting.scattered
    assert v.CARE_SETTING.parse("分散供养") is CareSetting.scattered
    assert v.CARE_SETTING.parse("集中供养") is CareSetting.institution
    assert v.DISABILITY.parse_many("视力、肢体残疾,智力") == (
        DisabilityType.visual,
        DisabilityType.physical,
        DisabilityType.intellectual,
    )
    assert [v.DISABILITY_LEVEL.parse(x) for x in ("一级", "2", 3, "4级")] == [1, 2, 3, 4]
    assert v.parse_dibao("农村一类") == (Residence.rural, 1)
    assert v.parse_dibao("城市低保四类") == (Residence.urban, 4)
    assert v.parse_dibao("") is None and v.parse_dibao("无") is None
    assert v.parse_tekun("城市") == (Residence.urban, None)
    assert v.parse_tekun("农村分散供养") == (Residence.rural, CareSetting.scattered)
    assert v.SELF_CARE.parse("全自理") is SelfCare.full
    assert v.SELF_CARE.parse("半护理") is SelfCare.partial
    assert v.SELF_CARE.parse("全护理") is SelfCare.none
    assert v.YES_NO.parse("是") is True and v.YES_NO.parse("否") is False
    assert v.SCHOOL_STAGE.parse("小学") is SchoolStage.primary
    assert v.SCHOOL_STAGE.parse("幼儿园") is SchoolStage.preschool
    assert v.RANK_TIER.parse("科级以下") is RankTier.below_section
    assert v.RANK_TITLE.parse("一级巡视员") is RankTitle.inspector_1
    assert v.RANK_TITLE.parse("二调") is RankTitle.researcher_2
    assert v.PARTY_MEMBER.parse("中共党员") is True
    assert v.CADRE_KIND.parse("驻村帮扶干部") is CadreKind.resident_village_cadre
    assert v.CADRE_KIND.parse("省级领导干部") is CadreKind.province_leader


def test_every_enum_member_has_a_chinese_name() -> None:
    assert {x for x, _ in v.CATEGORY.names.values()} == set(SubjectCategory)
    assert set(v.PARENTS.names.values()) == set(ParentSituation)
    assert set(v.CARE_SETTING.names.values()) == set(CareSetting)
    assert set(v.DISABILITY.names.values()) == set(DisabilityType)
    assert set(v.SELF_CARE.names.values()) == set(SelfCare)
    assert set(v.SCHOOL_STAGE.names.values()) == set(SchoolStage)
    assert set(v.RANK_TIER.names.values()) == set(RankTier)
    assert set(v.RANK_TITLE.names.values()) == set(RankTitle)
    assert set(v.CADRE_KIND.names.values()) == set(CadreKind)


@pytest.mark.parametrize(
    "vocabulary, wrong, listed",
    [
        (v.GENDER, "未知", "男、女"),
        (v.CATEGORY, "低保户", "孤儿、事实无人抚养儿童、困难重度残疾人、特困人员"),
        (v.SELF_CARE, "还行", "全自理、半护理、全护理"),
        (v.RANK_TIER, "部级", "省部级、厅局级、县处级、乡科级、科级以下"),
    ],
)
def test_a_wrong_value_lists_the_accepted_ones(
    vocabulary: v.Vocabulary[Any], wrong: str, listed: str
) -> None:
    with pytest.raises(ValueProblem) as caught:
        vocabulary.parse(wrong)
    assert f"“{wrong}”" in str(caught.value) and listed in str(caught.value)


def test_several_wrong_values_in_one_cell_are_all_named() -> None:
    with pytest.raises(ValueProblem) as caught:
        v.DISABILITY.parse_many("视力、耳聋、腿脚")
    assert "“耳聋”" in str(caught.value) and "“腿脚”" in str(caught.value)


def test_an_id_number_that_excel_turned_into_a_number_is_refused() -> None:
    with pytest.raises(ValueProblem, match="文本"):
        v.parse_id_text(6.22925201405171e17)


def test_codes_from_excel_numbers_and_text() -> None:
    assert v.parse_code(622925100201, 12, "村代码") == "622925100201"
    assert v.parse_code(622925100201.0, 12, "村代码") == "622925100201"
    assert v.parse_codes("622925100、622925101,622925102", 9, "乡镇代码") == (
        "622925100",
        "622925101",
        "622925102",
    )
    with pytest.raises(ValueProblem, match="12位"):
        v.parse_code("62292510020", 12, "村代码")


def test_headers_match_despite_brackets_stars_and_spaces() -> None:
    assert header_key("常住地址（省）") == header_key("常住地址-省") == header_key("常住地址(省)")
    assert header_key("*姓名") == header_key(" 姓 名 ") == header_key("姓名（必填）") == "姓名"


def test_a_refusal_field_maps_back_to_its_column() -> None:
    assert SUBJECTS.header_for_field("body.guardian.phone") == "监护人电话"
    assert SUBJECTS.header_for_field("body.id_number") == "身份证号"
    assert SUBJECTS.header_for_field("body.residence.village_code") == "常住地村代码"
    assert SUBJECTS.header_for_field("body.tekun.setting") == "养育方式"
    assert SUBJECTS.header_for_field("body.tekun.area") == "特困"
    assert SUBJECTS.header_for_field("body.residence_address.detail") == "常住地址（详细地址）"
    assert CADRES.header_for_field("body.rank") == "职务职级"
    assert CADRES.header_for_field("body.rank.tier") == "职务职级层次"
    assert CADRES.header_for_field("body.links.village_codes.0") == "联系村代码"
    assert SUBJECTS.header_for_field("body.nonsense") == ""


# --- rows ---------------------------------------------------------------------------------


def test_a_good_subject_row_becomes_the_api_body() -> None:
    prepared = prepare_subject(subject_row(), TODAY)
    assert prepared.ok, prepared.problems
    body = prepared.body
    assert body["gender"] == "female" and body["birth_date"] == "2014-05-17"
    assert body["category"] == "orphan" and body["orphan_type"] == "orphan"
    assert body["care_setting"] == "scattered"
    assert body["household_id"] == "h-622925100201-7"
    assert body["residence"]["village_code"] == "622925100201"
    assert body["guardian"]["relation"] == "祖母"
    assert "subject_id" not in body  # no client-chosen id: nothing derived from the ID number


def test_every_problem_of_a_subject_row_is_reported_with_its_column() -> None:
    prepared = prepare_subject(
        subject_row(
            性别="未知",
            出生日期="2014-13-40",
            身份证号="62292520140517001",
            养育方式="寄养",
            常住地村代码="622926100201",
            监护人电话="12345",
            低保="贫困",
        ),
        TODAY,
    )
    assert not prepared.ok and prepared.body == {}
    found = columns(prepared.problems)
    for column in ("性别", "出生日期", "身份证号", "养育方式", "常住地村代码", "监护人电话", "低保"):
        assert column in found, (column, prepared.problems)
    messages = {p.column: p.message for p in prepared.problems}
    assert "18位" in messages["身份证号"]
    assert "男、女" in messages["性别"]
    assert "前9位" in messages["常住地村代码"]


def test_missing_required_values_are_each_reported() -> None:
    prepared = prepare_subject(Row(5, {"姓名": "马小花"}), TODAY)
    found = set(columns(prepared.problems))
    assert {"性别", "出生日期", "身份证号", "类别", "常住地县代码", "常住地乡镇代码", "常住地村代码"} <= found


def test_an_id_number_that_disagrees_with_the_birth_date_is_reported() -> None:
    prepared = prepare_subject(subject_row(出生日期="2014-05-18"), TODAY)
    [problem] = prepared.problems
    assert problem.column == "身份证号" and "不一致" in problem.message


def test_a_row_with_problems_also_gets_the_eligibility_reasons() -> None:
    prepared = prepare_subject(
        subject_row(
            类别="困难重度残疾人",
            残疾等级="三级",
            性别="男性人",
        ),
        TODAY,
    )
    found = columns(prepared.problems)
    assert "性别" in found and "残疾等级" in found and "残疾人证号" in found and "低保" in found


def test_an_outside_province_residence_needs_no_codes() -> None:
    prepared = prepare_subject(
        subject_row(常住地县代码=None, 常住地乡镇代码=None, 常住地村代码=None, 常住地在省外="是"),
        TODAY,
    )
    assert prepared.ok, prepared.problems
    assert prepared.body["residence"]["outside_province"] is True


def test_tekun_takes_its_setting_from_the_care_column() -> None:
    born = date(1950, 1, 1)
    row = subject_row(
        类别="特困人员",
        出生日期="1950-01-01",
        身份证号=resident_id("622925", born, False),
        性别="男",
        特困="农村",
        养育方式="分散供养",
    )
    prepared = prepare_subject(row, TODAY)
    assert prepared.ok, prepared.problems
    assert prepared.body["tekun"] == {"area": "rural", "setting": "scattered"}
    without = prepare_subject(Row(2, {k: x for k, x in row.values.items() if k != "养育方式"}), TODAY)
    assert columns(without.problems) == ["养育方式"]


def test_a_household_number_must_not_be_an_id_number() -> None:
    prepared = prepare_subject(subject_row(户编号=resident_id("622925", date(1960, 1, 1), False)), TODAY)
    assert columns(prepared.problems) == ["户编号"]


def test_the_same_person_twice_in_one_file_is_reported_at_the_second_row() -> None:
    prepared = prepare_all(Kind.subjects, [subject_row(2), subject_row(3, 姓名="马小花二")], TODAY)
    assert prepared[0].ok
    assert columns(prepared[1].problems) == ["身份证号"] and "第2行" in prepared[1].problems[0].message


def test_a_good_cadre_row_becomes_the_api_body() -> None:
    prepared = prepare_cadre(cadre_row())
    assert prepared.ok, prepared.problems
    assert prepared.body["rank"] == {"tier": "township", "title": "principal"}
    assert prepared.body["kind"] == "unit_leader" and prepared.body["party_member"] is True
    assert prepared.body["links"]["village_codes"] == ["622925100201", "622925100202"]


def test_every_problem_of_a_cadre_row_is_reported_with_its_column() -> None:
    prepared = prepare_cadre(
        cadre_row(
            职务职级层次="县处级",
            职务职级="一级科员",
            是否党员="也许",
            联系村代码="622925100201、6229",
            单位名称=None,
            出生日期="1980年2月30日",
        )
    )
    found = columns(prepared.problems)
    assert set(found) == {"职务职级", "是否党员", "联系村代码", "单位名称", "出生日期"}
    title = next(p.message for p in prepared.problems if p.column == "职务职级")
    assert "县处级" in title and "一级调研员" in title


def test_a_resident_village_cadre_gets_the_township_from_the_village_code() -> None:
    prepared = prepare_cadre(cadre_row(干部类别="驻村帮扶干部", 驻村村代码="622925100201"))
    assert prepared.ok, prepared.problems
    assert prepared.body["links"]["resident_township_code"] == "622925100"
    missing = prepare_cadre(cadre_row(干部类别="驻村帮扶干部"))
    assert columns(missing.problems) == ["驻村村代码"]


def test_the_same_cadre_twice_in_one_file_is_reported() -> None:
    prepared = prepare_all(Kind.cadres, [cadre_row(2), cadre_row(3, 联系电话="13900139001")], TODAY)
    assert prepared[0].ok and columns(prepared[1].problems) == ["姓名"]


def test_example_rows_are_marked() -> None:
    prepared = prepare_all(Kind.cadres, [cadre_row(2, 姓名="示例：李芳")], TODAY)
    assert prepared[0].example
