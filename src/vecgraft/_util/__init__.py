"""Small utilities every stage uses; they import nothing of vecgraft but `errors`.

`atomic` (writes), `options` (string enums), `extras` (optional dependencies), `device`
(torch device choice), `lazy` (lazy package exports), `figures` (headless matplotlib),
`console` (terminal output), `folderlock` (one command writing a folder at a time),
`gb18030` (naming GBK Chinese in a file that is not UTF-8), `version`.
"""
