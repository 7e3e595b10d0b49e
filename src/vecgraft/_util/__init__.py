"""Small utilities every stage uses; they import nothing of vecgraft but `errors`.

`atomic` (writes), `options` (string enums), `extras` (optional dependencies), `device`
(torch device choice), `lazy` (lazy package exports), `figures` (headless matplotlib),
`console` (terminal output), `gb18030` (naming GBK Chinese in a file that is not UTF-8),
`version`.
"""
