"""The pages' words in Chinese (the default) and English. A page is in English only when asked for:
``?lang=en`` (the header's language link), which a cookie then remembers."""

from __future__ import annotations

from fastapi import Request

LANGUAGES = ("zh", "en")

MESSAGES: dict[str, dict[str, str]] = {
    "site": {"zh": "学习园地 · 原文检索", "en": "study_hub · original texts"},
    "skip": {"zh": "跳到正文", "en": "Skip to content"},
    "search": {"zh": "检索", "en": "Search"},
    "library": {"zh": "文件库", "en": "Library"},
    "search_label": {"zh": "检索原文", "en": "Search the original texts"},
    "search_placeholder": {"zh": "输入关键词、原文语句（加引号精确匹配）或问题",
                           "en": 'Words, "exact wording" or a question'},
    "mode": {"zh": "检索方式", "en": "Mode"},
    "mode_keyword": {"zh": "关键词", "en": "Keyword"},
    "mode_semantic": {"zh": "语义", "en": "Meaning"},
    "mode_hybrid": {"zh": "综合", "en": "Hybrid"},
    "sort": {"zh": "排序", "en": "Sort"},
    "sort_relevance": {"zh": "相关度", "en": "Relevance"},
    "sort_date": {"zh": "日期", "en": "Date"},
    "filters": {"zh": "筛选", "en": "Filters"},
    "clear_filters": {"zh": "清除筛选", "en": "Clear filters"},
    "level": {"zh": "层级", "en": "Level"},
    "kind": {"zh": "类别", "en": "Kind"},
    "issuer": {"zh": "发文机关 / 讲话人", "en": "Issuer / speaker"},
    "year": {"zh": "年份", "en": "Year"},
    "any": {"zh": "全部", "en": "Any"},
    "apply": {"zh": "应用", "en": "Apply"},
    "results": {"zh": "共 {total} 段", "en": "{total} passages"},
    "took": {"zh": "用时 {ms} 毫秒", "en": "{ms} ms"},
    "partial": {"zh": "以下段落只包含部分检索词", "en": "Passages below contain only some of the words"},
    "no_results": {"zh": "没有找到相关段落。", "en": "No passages found."},
    "try_fewer": {"zh": "减少或换用检索词，或去掉引号改为模糊检索",
                  "en": "Use fewer or other words, or drop the quotes"},
    "try_meaning": {"zh": "改用“综合”或“语义”检索，按意思查找", "en": "Search by meaning (hybrid or meaning mode)"},
    "try_unfiltered": {"zh": "在全部文件中检索", "en": "Search all documents"},
    "previous": {"zh": "上一页", "en": "Previous"},
    "next": {"zh": "下一页", "en": "Next"},
    "page": {"zh": "第 {page} 页", "en": "Page {page}"},
    "pages": {"zh": "分页", "en": "Pages"},
    "contents": {"zh": "目录", "en": "Contents"},
    "cite": {"zh": "复制引用", "en": "Copy citation"},
    "copied": {"zh": "已复制", "en": "Copied"},
    "related": {"zh": "上下级文件中的相关段落", "en": "Related passages at other levels"},
    "related_link": {"zh": "相关", "en": "Related"},
    "related_none": {"zh": "未建立语义索引，暂无法追溯上下级文件。", "en": "The embedding index is not available."},
    "read_in_document": {"zh": "在原文中阅读", "en": "Read in the document"},
    "back_to_results": {"zh": "返回检索结果", "en": "Back to the results"},
    "doc_number": {"zh": "文号", "en": "Number"},
    "date": {"zh": "日期", "en": "Date"},
    "passages": {"zh": "段", "en": "passages"},
    "documents_count": {"zh": "共 {total} 份文件", "en": "{total} documents"},
    "error": {"zh": "出错了", "en": "Something went wrong"},
    "not_found": {"zh": "找不到该页面或文件", "en": "Not found"},
    "home": {"zh": "返回首页", "en": "Home"},
    "language_switch": {"zh": "English", "en": "中文"},
    "previous_passage": {"zh": "上一段", "en": "Previous passage"},
    "next_passage": {"zh": "下一段", "en": "Next passage"},
    "citation": {"zh": "引用", "en": "Citation"},
    "found_by": {"zh": "命中方式", "en": "Found by"},
    "ranker_keyword": {"zh": "关键词", "en": "keyword"},
    "ranker_semantic": {"zh": "语义", "en": "meaning"},
    "level_central": {"zh": "中央", "en": "Central"},
    "level_provincial": {"zh": "省级", "en": "Provincial"},
    "level_municipal": {"zh": "市级", "en": "Municipal"},
    "level_district": {"zh": "区级", "en": "District"},
    "kind_document": {"zh": "文件", "en": "Document"},
    "kind_regulation": {"zh": "法规", "en": "Regulation"},
    "kind_report": {"zh": "报告", "en": "Report"},
    "kind_speech": {"zh": "讲话", "en": "Speech"},
    "kind_news": {"zh": "新闻", "en": "News"},
    "login": {"zh": "登录", "en": "Sign in"},
    "logout": {"zh": "退出", "en": "Sign out"},
    "login_id": {"zh": "账号", "en": "Login id"},
    "password": {"zh": "密码", "en": "Password"},
    "my_notes": {"zh": "我的笔记", "en": "My notes"},
    "shared_notes": {"zh": "共享给我的笔记", "en": "Notes shared with me"},
    "notes": {"zh": "批注", "en": "Notes"},
    "note_add": {"zh": "添加批注", "en": "Add a note"},
    "note_body": {"zh": "学习体会（支持 Markdown）", "en": "Your note (Markdown)"},
    "note_tags": {"zh": "标签（用空格分隔）", "en": "Tags (separated by spaces)"},
    "note_visibility": {"zh": "可见范围", "en": "Who sees it"},
    "visibility_private": {"zh": "仅自己", "en": "Only me"},
    "visibility_unit": {"zh": "本支部 / 小组", "en": "My unit"},
    "visibility_organisers": {"zh": "仅组织员", "en": "The unit's organisers"},
    "note_unit": {"zh": "共享给", "en": "Share with"},
    "save": {"zh": "保存", "en": "Save"},
    "cancel": {"zh": "取消", "en": "Cancel"},
    "delete": {"zh": "删除", "en": "Delete"},
    "select_to_note": {"zh": "选中原文中的文字即可添加批注。", "en": "Select words in the text to add a note."},
    "show_shared": {"zh": "显示本支部共享的批注", "en": "Show notes shared with my units"},
    "hide_shared": {"zh": "只看我的批注", "en": "Only my notes"},
    "orphaned_notes": {"zh": "原文已修改、未能重新定位的批注", "en": "Notes whose text changed and could not be found again"},
    "export_md": {"zh": "导出 Markdown", "en": "Export Markdown"},
    "export_docx": {"zh": "导出 Word", "en": "Export Word"},
    "document": {"zh": "文件", "en": "Document"},
    "tag": {"zh": "标签", "en": "Tag"},
    "from_date": {"zh": "起", "en": "From"},
    "to_date": {"zh": "止", "en": "To"},
    "search_notes": {"zh": "检索笔记", "en": "Search notes"},
    "no_notes": {"zh": "还没有笔记。在阅读原文时选中文字即可添加。", "en": "No notes yet. Select words while reading to add one."},
    "read_original": {"zh": "查看原文", "en": "Read the original"},
    "login_intro": {"zh": "使用组织分配的账号登录。", "en": "Sign in with the account your organisation gave you."},
    "intro": {"zh": "逐字逐句检索中央、省、市、区各级文件和领导讲话原文。", "en":
              "Search the original texts of central, provincial, municipal and district documents and speeches."},
}


def language_of(request: Request) -> str:
    for candidate in (request.query_params.get("lang"), request.cookies.get("lang")):
        if candidate in LANGUAGES:
            return candidate
    return "zh"


def translator(language: str):
    def t(key: str, **values) -> str:
        entry = MESSAGES.get(key)
        if entry is None:
            return key
        return entry[language].format(**values) if values else entry[language]
    return t
