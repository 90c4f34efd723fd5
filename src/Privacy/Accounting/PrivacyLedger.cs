using System.Text;

namespace AllReduceNet.Privacy.Accounting;

/// <summary>
/// The privacy ledger: one append-only JSON-lines file (next to the checkpoint) recording every release of
/// information about every data set, across runs and resumes. Composition merges the ranges of each run and source
/// idempotently (a step recorded twice counts once), then composes all runs of the data set in RDP; a planned
/// training is refused when it would take the data set's ε past the budget.
/// Crash safety: each entry is one line written and flushed to disk (fsync) before <see cref="Append"/> returns; a
/// torn last line (a crash mid-write) is ignored, reported in <see cref="TornLastLine"/>, and cut off before the next
/// append; a malformed line anywhere else is refused with its line number, because silently dropping a recorded
/// release would under-count privacy loss.
/// </summary>
public sealed class PrivacyLedger
{
    private readonly List<LedgerEntry> _entries;
    private readonly List<int> _lineNumbers;
    private long? _tornTailOffset;

    private PrivacyLedger(string path, List<LedgerEntry> entries, List<int> lineNumbers, long? tornTailOffset, string? tornLastLine)
    {
        Path = path;
        _entries = entries;
        _lineNumbers = lineNumbers;
        _tornTailOffset = tornTailOffset;
        TornLastLine = tornLastLine;
    }

    /// <summary>The ledger file.</summary>
    public string Path { get; }

    /// <summary>The entries, in file order.</summary>
    public IReadOnlyList<LedgerEntry> Entries => _entries;

    /// <summary>
    /// Non-null when the file ended in an incomplete line (a crash during an append): says which line was ignored.
    /// Train should print it.
    /// </summary>
    public string? TornLastLine { get; private set; }

    /// <summary>Reads the ledger at <paramref name="path"/>; a missing file is an empty ledger.</summary>
    public static PrivacyLedger Load(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var entries = new List<LedgerEntry>();
        var lineNumbers = new List<int>();
        if (!File.Exists(path)) return new PrivacyLedger(path, entries, lineNumbers, null, null);

        byte[] bytes = File.ReadAllBytes(path);
        int lineStart = 0, lineNumber = 0;
        while (lineStart < bytes.Length)
        {
            lineNumber++;
            int newline = Array.IndexOf(bytes, (byte)'\n', lineStart);
            bool complete = newline >= 0;
            int lineEnd = complete ? newline : bytes.Length;
            string text = Encoding.UTF8.GetString(bytes, lineStart, lineEnd - lineStart).Trim();
            if (!complete)
            {
                // Only the last line can lack its newline, and only a crash mid-append leaves one so: a line that is
                // complete JSON is kept (the newline alone was lost), anything else is the torn write of an entry
                // whose append never returned.
                try
                {
                    if (text.Length > 0) { entries.Add(LedgerEntry.Parse(text, $"{path}:{lineNumber}")); lineNumbers.Add(lineNumber); }
                    break;
                }
                catch (PrivacyException)
                {
                    string torn = $"{path}:{lineNumber}: ignored an incomplete last line ({bytes.Length - lineStart} bytes, " +
                                  "a write cut short by a crash); it is removed before the next entry is appended";
                    return new PrivacyLedger(path, entries, lineNumbers, lineStart, torn);
                }
            }
            if (text.Length > 0)
            {
                entries.Add(LedgerEntry.Parse(text, $"{path}:{lineNumber}"));
                lineNumbers.Add(lineNumber);
            }
            lineStart = newline + 1;
        }
        return new PrivacyLedger(path, entries, lineNumbers, null, null);
    }

    /// <summary>Appends an entry and flushes it to disk before returning.</summary>
    public void Append(LedgerEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (string.IsNullOrWhiteSpace(entry.DatasetId)) throw new PrivacyException("ledger entry has an empty data set id");
        entry.Range.Validate();
        string? directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(Path));
        if (directory is not null) Directory.CreateDirectory(directory);
        using (var stream = new FileStream(Path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read))
        {
            long end = stream.Length;
            if (_tornTailOffset is long offset) { stream.SetLength(offset); end = offset; }
            else if (end > 0)
            {
                // A last line whose newline was lost must not be glued to the new entry.
                stream.Seek(end - 1, SeekOrigin.Begin);
                if (stream.ReadByte() != '\n') { stream.Seek(end, SeekOrigin.Begin); stream.WriteByte((byte)'\n'); end++; }
            }
            stream.Seek(end, SeekOrigin.Begin);
            byte[] line = Encoding.UTF8.GetBytes(entry.ToJsonLine() + "\n");
            stream.Write(line);
            stream.Flush(flushToDisk: true);
        }
        _tornTailOffset = null;
        TornLastLine = null;
        _entries.Add(entry);
        _lineNumbers.Add(_lineNumbers.Count == 0 ? 1 : _lineNumbers[^1] + 1);
    }

    /// <summary>
    /// Records a range of releases: composes the data set with it to fill in the accountant's ε, then appends.
    /// Returns the data set's ε at <paramref name="delta"/> after the range.
    /// </summary>
    public PrivacyGuarantee Record(string datasetId, ReleaseRange range, double delta, DateTimeOffset? time = null)
    {
        ArgumentNullException.ThrowIfNull(range);
        range.Validate();
        PrivacyArguments.RequireDelta(delta);
        var after = Compose(datasetId, new[] { range }).GetEpsilon(delta);
        Append(new LedgerEntry(datasetId, range, time ?? DateTimeOffset.UtcNow, delta, after.Epsilon));
        return after;
    }

    /// <summary>
    /// An accountant holding every release recorded for the data set (each step of each run and source once), plus
    /// <paramref name="planned"/> ranges merged the same way (a resumed run may plan steps it has already recorded).
    /// </summary>
    public RdpAccountant Compose(string datasetId, IEnumerable<ReleaseRange>? planned = null, IReadOnlyList<double>? orders = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(datasetId);
        var ranges = new List<(ReleaseRange Range, string Where)>();
        for (int i = 0; i < _entries.Count; i++)
            if (_entries[i].DatasetId == datasetId) ranges.Add((_entries[i].Range, $"{Path}:{_lineNumbers[i]}"));
        foreach (var range in planned ?? Array.Empty<ReleaseRange>())
        {
            range.Validate();
            ranges.Add((range, "the planned training"));
        }
        var accountant = new RdpAccountant(orders);
        foreach (var group in ranges.GroupBy(r => (r.Range.RunId, r.Range.Source)))
        {
            // Sweep by first step: every earlier range starts at or before this one, so what they cover from here on
            // is one interval [FirstStep, coveredEnd), and only the new tail beyond it is composed. Pieces (disjoint,
            // sorted, equal neighbours joined) are kept to check that overlapping records agree on q and sigma.
            var pieces = new List<(long Start, long End, GaussianRelease Release, string Where)>();
            long coveredEnd = long.MinValue;
            foreach (var (range, where) in group.OrderBy(r => r.Range.FirstStep))
            {
                for (int k = pieces.Count - 1; k >= 0 && pieces[k].End > range.FirstStep; k--)
                {
                    var piece = pieces[k];
                    if (piece.Start < range.EndStep && piece.Release != range.Release)
                        throw new PrivacyException(
                            $"data set {datasetId}: {where} records {range} but {piece.Where} recorded steps " +
                            $"{piece.Start}..{piece.End - 1} of the same run with q={PrivacyArguments.Format(piece.Release.SamplingRate)}, " +
                            $"sigma={PrivacyArguments.Format(piece.Release.NoiseMultiplier)}; the ledger contradicts itself");
                }
                long start = Math.Max(range.FirstStep, coveredEnd);
                if (start >= range.EndStep) continue;
                accountant.Compose(range.Release, range.EndStep - start);
                if (pieces.Count > 0 && pieces[^1].End == start && pieces[^1].Release == range.Release)
                    pieces[^1] = (pieces[^1].Start, range.EndStep, range.Release, pieces[^1].Where);
                else
                    pieces.Add((start, range.EndStep, range.Release, where));
                coveredEnd = range.EndStep;
            }
        }
        return accountant;
    }

    /// <summary>ε at δ of everything recorded for the data set.</summary>
    public PrivacyGuarantee Spent(string datasetId, double delta) => Compose(datasetId).GetEpsilon(delta);

    /// <summary>
    /// Refuses, before training starts, a plan that would take the data set past <paramref name="budgetEpsilon"/> at
    /// <paramref name="delta"/>; the message gives the spent ε, the plan's own ε and the total it would reach.
    /// Returns the total ε the plan would reach.
    /// </summary>
    public PrivacyGuarantee EnsureWithinBudget(string datasetId, IReadOnlyCollection<ReleaseRange> planned, double budgetEpsilon, double delta)
    {
        ArgumentNullException.ThrowIfNull(planned);
        PrivacyArguments.RequireEpsilon(budgetEpsilon, "--dp-budget epsilon");
        PrivacyArguments.RequireDelta(delta);
        var spent = Spent(datasetId, delta);
        string budget = $"--dp-budget {PrivacyArguments.Format(budgetEpsilon)} at delta {PrivacyArguments.Format(delta)}";
        if (spent.Epsilon >= budgetEpsilon)
            throw new PrivacyException(
                $"data set {datasetId}: privacy budget already spent: the ledger {Path} records epsilon " +
                $"{spent.Epsilon:F3} of {budget}; no further training on it is allowed");
        var total = Compose(datasetId, planned).GetEpsilon(delta);
        if (total.Epsilon > budgetEpsilon)
        {
            var alone = new RdpAccountant();
            foreach (var range in planned) alone.Compose(range.Release, range.Steps);
            throw new PrivacyException(
                $"data set {datasetId}: the planned training would exceed the privacy budget: spent epsilon " +
                $"{spent.Epsilon:F3} (ledger {Path}), the plan alone epsilon {alone.GetEpsilon(delta).Epsilon:F3} " +
                $"({string.Join("; ", planned)}), together epsilon {total.Epsilon:F3} > {budget}");
        }
        return total;
    }
}
