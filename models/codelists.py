"""The code lists the product uses, where each comes from (data/codelists/SOURCES.md)."""

from app.engine.codelists import register
from app.engine.i18n import lazy_gettext as _l

# From ../shared/domain (public GACC parameters; see SOURCES.md for origin and completeness)
register("country", _l("国别(地区)"), "country_region_国别地区.csv", en="name_en_or_note")
register("currency", _l("币制"), "currency_币制.csv", en="name_en_or_note")
register("customs_district", _l("关区"), "customs_district_关区_direct.csv", zh="name")
register("supervision_mode", _l("监管方式"),
         ["supervision_mode_监管方式.csv", "supervision_mode_监管方式_supplement.csv"])
register("unit_of_measure", _l("计量单位"), "unit_of_measure_计量单位.csv")
register("transport_mode", _l("运输方式"), "transport_mode_运输方式.csv")
register("transaction_mode", _l("成交方式"), "transaction_mode_成交方式.csv")
register("wrap_type", _l("包装种类"), "wrap_type_包装种类.csv")
register("levy_nature", _l("征免性质"), "levy_nature_征免性质.csv")
register("duty_mode", _l("征减免税方式"), "duty_mode_征减免税方式.csv")
register("license_document", _l("监管证件代码"), "license_document_监管证件代码.csv")
register("trade_agreement", _l("优惠贸易协定"), "preferential_trade_agreement_优惠贸易协定.csv",
         en="name_en")

# Lists of the M&E licence system (seed 004): values as printed on the 自动进口许可证申请表
# and the single window's parameter lists; see SOURCES.md (product-compiled, to be verified
# against the commerce ministry's current parameter tables).
register("region", _l("省市"), "region_省市.csv")
register("me_supervisor_level", _l("主管单位级别"), "me_supervisor_level_主管单位级别.csv")
register("me_unit_nature", _l("单位性质"), "me_unit_nature_单位性质.csv")
register("me_office", _l("所属机电办"), "me_office_所属机电办.csv")
register("me_fx_source", _l("外汇来源"), "me_fx_source_外汇来源.csv")
register("me_goods_use", _l("商品用途"), "me_goods_use_商品用途.csv")
register("me_project_type", _l("项目类型"), "me_project_type_项目类型.csv")
register("me_industry", _l("项目所属行业"), "me_industry_项目所属行业.csv")

# Lists of 智慧云报关 (seed 002): see SOURCES.md, section "Lists of the declaration system".
register("container_spec", _l("集装箱规格"), "container_spec_集装箱规格.csv")
register("port", _l("港口"), "port_港口_unlocode.csv")
register("domestic_port", _l("国内口岸"), "domestic_port_国内口岸_demo.csv")
register("domestic_district", _l("境内地区"), "domestic_district_境内地区_demo.csv")
