import { announce } from "../../components/feedback";
import { apiBlob, type Query } from "../../lib/api";
import { useAction } from "../../lib/hooks";

/**
 * Downloads an analytics read as CSV (`format=csv`). A button rather than a plain link: the
 * access token lives in the page's memory, and a link would be sent without it.
 */
export function CsvButton({
  path,
  query,
  file,
  label,
}: {
  path: string;
  query: Query;
  file: string;
  label: string;
}) {
  const download = useAction(async () => {
    const blob = await apiBlob(path, { ...query, format: "csv" });
    const url = URL.createObjectURL(blob);
    const link = document.createElement("a");
    link.href = url;
    link.download = file;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
    announce(`${file} downloaded`);
    return true;
  });
  return (
    <span class="csv">
      <button
        type="button"
        class="button button-small"
        disabled={download.pending}
        aria-busy={download.pending}
        aria-label={`${label}: ${file}`}
        onClick={() => void download.run()}
      >
        {download.pending ? "Preparing…" : label}
      </button>
      {download.error ? (
        <span class="field-error" role="alert">
          {download.error.message}
        </span>
      ) : null}
    </span>
  );
}
