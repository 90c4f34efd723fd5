using System.Diagnostics;
using AllReduceNet.Collectives;

namespace AllReduceNet.MpiTestApp;

/// <summary>
/// AllReduces in a loop while the test disturbs the link between the hosts (tc netem, or the link cut). Every result
/// is checked exactly (small whole numbers in floats). Each rank writes what happened to DIR/rank-R.txt, a file on the
/// machine's own disk, because a rank cut off from mpiexec cannot report through it: "started" once it ran a few
/// iterations, then "passed N iterations" or "FAILED after S s: TYPE: MESSAGE". A failure is rethrown, so the abort
/// hook ends the job.
/// </summary>
internal static class LinkFaultScenario
{
    public static int Run(Communicator world, string directory, int iterations, int count, AllReduceAlgorithm algorithm)
    {
        string file = Path.Combine(directory, $"rank-{world.Rank}.txt");
        void Write(string line) => File.AppendAllText(file, $"rank {world.Rank} host {Environment.MachineName}: {line}\n");
        var data = new float[count];
        var options = new CollectiveOptions { Algorithm = algorithm };
        var clock = Stopwatch.StartNew();
        int wrong = 0;
        int iteration = 0;
        try
        {
            for (; iteration < iterations; iteration++)
            {
                for (int i = 0; i < count; i++) data[i] = (world.Rank + iteration + i) % 64;
                clock.Restart();
                world.AllReduce<float>(data, ReduceOp.Sum, options);
                for (int i = 0; i < count; i++)
                {
                    float expected = 0;
                    for (int r = 0; r < world.Size; r++) expected += (r + iteration + i) % 64;
                    if (data[i] != expected && wrong++ < 5) Write($"WRONG iteration {iteration} element {i}: {data[i]}, expected {expected}");
                }
                if (iteration == 10) Write("started");
            }
        }
        catch (Exception error)
        {
            Write($"FAILED at iteration {iteration} after {clock.Elapsed.TotalSeconds:F1} s: {error.GetType().Name}: {error.Message}");
            throw;
        }
        Write($"passed {iterations} iterations, {wrong} wrong elements");
        return wrong == 0 ? 0 : 1;
    }
}
