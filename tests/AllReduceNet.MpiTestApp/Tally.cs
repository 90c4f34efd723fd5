namespace AllReduceNet.MpiTestApp;

/// <summary>One rank's count of checks and failures; prints the first 20 failures, naming the rank.</summary>
internal sealed class Tally(int rank)
{
    public int Checks { get; private set; }

    public int Failures { get; private set; }

    public void Check(bool ok, string what)
    {
        Checks++;
        if (ok) return;
        if (++Failures <= 20) Console.WriteLine($"rank {rank}: FAILED {what}");
    }
}
