"""Value types that the pairing events carry about people: ranks, addresses, benefits, guardians.

They live with the contracts because other services read them from the same events.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.base import Personal


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Gender(StrEnum):
    male = "male"
    female = "female"


class SubjectCategory(StrEnum):
    """关爱对象的类别 (section 二 of the plan)."""

    orphan = "orphan"  # 孤儿 or 事实无人抚养儿童
    severely_disabled = "severely_disabled"  # 困难重度残疾人
    extreme_poverty = "extreme_poverty"  # 特困人员 / 特困家庭


class OrphanType(StrEnum):
    orphan = "orphan"  # 孤儿
    de_facto_orphan = "de_facto_orphan"  # 事实无人抚养儿童


class ParentSituation(StrEnum):
    """Why a de-facto orphan's parent cannot raise them (事实无人抚养儿童认定情形)."""

    deceased = "deceased"  # 死亡
    missing = "missing"  # 失踪 / 失联
    severe_disability = "severe_disability"  # 重度残疾
    serious_illness = "serious_illness"  # 重病
    imprisoned = "imprisoned"  # 服刑在押
    compulsory_rehabilitation = "compulsory_rehabilitation"  # 强制隔离戒毒
    custody_revoked = "custody_revoked"  # 被撤销监护资格
    deported = "deported"  # 被遣送（驱逐）出境
    other = "other"


class CareSetting(StrEnum):
    institution = "institution"  # 机构养育 / 机构集中供养 / 在机构接受治疗和服务
    scattered = "scattered"  # 社会散居 / 分散供养 (at home)


class DisabilityType(StrEnum):
    visual = "visual"  # 视力
    hearing = "hearing"  # 听力
    speech = "speech"  # 言语
    physical = "physical"  # 肢体
    intellectual = "intellectual"  # 智力
    mental = "mental"  # 精神
    multiple = "multiple"  # 多重


class Residence(StrEnum):
    urban = "urban"
    rural = "rural"


class Dibao(Frozen):
    """最低生活保障: urban or rural, and its class (一类 to 四类)."""

    area: Residence
    grade: int = Field(ge=1, le=4)


class Tekun(Frozen):
    """特困人员供养: urban or rural, supported at home (分散) or in an institution (集中)."""

    area: Residence
    setting: CareSetting


class SelfCare(StrEnum):
    full = "full"  # 全自理
    partial = "partial"  # 半护理
    none = "none"  # 全护理


class SchoolStage(StrEnum):
    not_in_school = "not_in_school"
    preschool = "preschool"
    primary = "primary"
    junior_secondary = "junior_secondary"
    senior_secondary = "senior_secondary"
    vocational = "vocational"
    higher = "higher"


class Place(Frozen):
    """Where in the province: the administrative codes decide which cadres are responsible.

    Codes are the statistical division codes (county 6 digits, township 9, village 12);
    `outside_province` marks a residence in another province (codes then empty).
    """

    county_code: str = Field(default="", max_length=12)
    township_code: str = Field(default="", max_length=12)
    village_code: str = Field(default="", max_length=12)
    outside_province: bool = False


class Address(Frozen):
    """An address as people write it (province to village, and the rest); personal data."""

    province: str = Field(default="", max_length=40)
    prefecture: str = Field(default="", max_length=40)
    county: str = Field(default="", max_length=40)
    township: str = Field(default="", max_length=40)
    village: str = Field(default="", max_length=40)
    detail: str = Field(default="", max_length=200)


class Guardian(Frozen):
    """监护人: every field is the subject's personal data."""

    name: Annotated[str, Personal("subject_id")] = Field(max_length=40)
    gender: Annotated[Gender, Personal("subject_id")]
    relation: Annotated[str, Personal("subject_id")] = Field(max_length=20)
    phone: Annotated[str, Personal("subject_id")] = Field(default="", max_length=20)
    birth_date: Annotated[date | None, Personal("subject_id")] = None
    id_number: Annotated[str, Personal("subject_id")] = Field(default="", max_length=18)


class RankTier(StrEnum):
    """职务职级的层次 (annex 3), highest first."""

    provincial = "provincial"  # 省部级
    departmental = "departmental"  # 厅局级
    county = "county"  # 县处级
    township = "township"  # 乡科级
    below_section = "below_section"  # 科级以下


class RankTitle(StrEnum):
    """The boxes of annex 3: a leadership post (正职/副职) or a rank grade."""

    principal = "principal"  # 正职
    deputy = "deputy"  # 副职
    inspector_1 = "inspector_1"  # 一级巡视员 (一巡)
    inspector_2_provincial = "inspector_2_provincial"  # 省管二级巡视员
    inspector_2 = "inspector_2"  # 二级巡视员 (二巡)
    researcher_1 = "researcher_1"  # 一级调研员 (一调)
    researcher_2 = "researcher_2"
    researcher_3 = "researcher_3"
    researcher_4 = "researcher_4"
    clerk_chief_1 = "clerk_chief_1"  # 一级主任科员
    clerk_chief_2 = "clerk_chief_2"
    clerk_chief_3 = "clerk_chief_3"
    clerk_chief_4 = "clerk_chief_4"
    clerk_1 = "clerk_1"  # 一级科员
    clerk_2 = "clerk_2"  # 二级科员


class Rank(Frozen):
    """A cadre's 职务职级: the tier and the box ticked in it."""

    tier: RankTier
    title: RankTitle


class CadreKind(StrEnum):
    """Which pairing rule of section 六 applies to the cadre."""

    province_leader = "province_leader"  # 省级领导干部
    prefecture_leader = "prefecture_leader"  # 州级领导干部
    county_leader = "county_leader"  # 县级领导干部
    partner_unit_cadre = "partner_unit_cadre"  # 省州帮扶单位干部
    unit_leader = "unit_leader"  # 乡镇、县直单位、人民团体、国有企业领导干部
    unit_cadre = "unit_cadre"  # 科级以下党员干部 (择优补充)
    resident_village_cadre = "resident_village_cadre"  # 驻村帮扶干部


class Links(Frozen):
    """The townships and villages a cadre's unit is linked with (乡村振兴联系点)."""

    township_codes: tuple[str, ...] = ()
    village_codes: tuple[str, ...] = ()
    # A resident village cadre's own village (驻村), whose township bounds their pairing.
    resident_village_code: str = ""
    resident_township_code: str = ""
