"""Excel import of customer lists (issue 7, part 4).

Why not django-import-export's row-by-row `Resource.import_data`: measured in pitfalls.md, it
takes ~99 s for 100,000 rows (about 27 times the time openpyxl needs to read the file), errors
in bulk mode are not tied to rows, and duplicate keys in one file abort the transaction. The
import is therefore set-based:

- `safety`: the upload guards (size, ZIP members and compression ratio, defusedxml, row cap);
- `reader`: the active sheet streamed with openpyxl's read-only parser, formula cells without a
  cached value and Excel error values flagged;
- `headers`: Vietnamese / English header names, case, accent and spacing tolerant;
- `normalise`: one cell -> one clean value or an error naming the row and the column;
- `engine`: the plan (new / updated / unchanged / errors per row, duplicates found before
  anything is written, existing members found with one query per chunk) and its application
  through the members app's set-based services (`members.services.bulk`: new members and
  cards, empty fields filled, opening balances), which write every members table;
- `report`: the error report and the template workbook;
- `services`: the life of a `MemberImport` record, used by the admin, the command and the
  Celery tasks alike.
"""
