"""Export of member lists (issue 7, part 5): xlsx or csv, read from the database in chunks and
written as they come (openpyxl's write-only mode, a streamed csv), every text cell neutralised
against formula injection (`loyalty_site.core.importexport.escape`). Restricted by the
`members.export_members` permission."""
