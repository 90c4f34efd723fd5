using System.Globalization;
using System.Text.Json;

namespace AllReduceNet.Perf;

/// <summary>Prints the table in the style of nccl-tests, and writes CSV and JSON copies.</summary>
public static class ResultWriter
{
    public static void PrintHeader(string transport, int ranks, string type, string op, bool check)
    {
        Console.WriteLine($"# AllReducePerf: {transport}, {ranks} ranks, {type}, {op}, check {(check ? "on" : "off")}, {Environment.ProcessorCount} cores");
        Console.WriteLine("# busbw = algbw x 2(N-1)/N (nccl-tests); 'vs native' = busbw / busbw of MPI_Allreduce at the same size; memcpy = one thread copying the same size.");
        Console.WriteLine($"#{"size",11} {"count",11} {"type",6} {"algorithm",9} {"time(us)",11} {"algbw(GB/s)",11} {"busbw(GB/s)",11} {"#wrong",7} {"memcpy(GB/s)",12} {"vs native",9}");
    }

    public static void PrintRows(IReadOnlyList<ResultRow> rows)
    {
        foreach (var row in rows)
        {
            var native = rows.FirstOrDefault(r => r.Bytes == row.Bytes && r.Algorithm == "native");
            string ratio = native is null || native.BusBandwidth == 0 || row.Algorithm == "native" ? "" : (row.BusBandwidth / native.BusBandwidth).ToString("F2", CultureInfo.InvariantCulture) + "x";
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $" {row.Bytes,11} {row.Count,11} {row.Type,6} {row.Algorithm,9} {row.TimeMicroseconds,11:F1} {row.AlgorithmBandwidth,11:F3} {row.BusBandwidth,11:F3} {row.Wrong,7} {row.MemcpyBandwidth,12:F2} {ratio,9}"));
        }
        long wrong = rows.Sum(r => r.Wrong);
        Console.WriteLine($"# Out of bounds values : {wrong} {(wrong == 0 ? "OK" : "FAILED")}");
    }

    public static void WriteCsv(string path, IReadOnlyList<ResultRow> rows)
    {
        using var writer = new StreamWriter(path);
        writer.WriteLine("transport,ranks,bytes,count,type,op,algorithm,time_us,algbw_gbps,busbw_gbps,wrong,memcpy_gbps");
        foreach (var r in rows)
            writer.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"\"{r.Transport}\",{r.Ranks},{r.Bytes},{r.Count},{r.Type},{r.Op},{r.Algorithm},{r.TimeMicroseconds:F3},{r.AlgorithmBandwidth:F4},{r.BusBandwidth:F4},{r.Wrong},{r.MemcpyBandwidth:F3}"));
    }

    public static void WriteJson(string path, IReadOnlyList<ResultRow> rows) =>
        File.WriteAllText(path, JsonSerializer.Serialize(rows, new JsonSerializerOptions { WriteIndented = true }));
}
