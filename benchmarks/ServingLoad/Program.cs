using System.Globalization;
using AllReduceNet.Serving.LoadBenchmarks;

// The tool of benchmarks/run-serving.sh; each command prints one line of key=value figures per measurement.
//   bodies  DATA_DIR OUT_DIR                      request bodies from the Fashion-MNIST test images
//   forward CHECKPOINT                            in-process forward throughput at batch 1 and 64
//   parse   NAME BODY_FILE                        the server's JSON tensor reading, per request
//   load    NAME URL PATH BODY_FILE CONNECTIONS SECONDS RATE BAD_EVERY [NEW_VERSION]
//                                                 open loop at RATE req/s (0: closed loop); every BAD_EVERY-th request bad (0: none)
//   report  FIGURES_FILE OUT_MD COMMAND           benchmarks/RESULTS-serving.md from the figures of one run
try
{
    switch (args.FirstOrDefault())
    {
        case "bodies" when args.Length == 3:
            RequestBodies.Write(args[1], args[2]);
            return 0;
        case "forward" when args.Length == 2:
            foreach (string line in ForwardBenchmark.Run(args[1], [1, 64])) Console.WriteLine(line);
            return 0;
        case "parse" when args.Length == 3:
            Console.WriteLine(JsonParseBenchmark.Run(args[1], args[2]));
            return 0;
        case "load" when args.Length is 9 or 10:
            var options = new LoadOptions(new Uri(args[2]), args[3], File.ReadAllBytes(args[4]), Number(args[5], "CONNECTIONS"),
                Number(args[6], "SECONDS"), Number(args[7], "RATE"), Number(args[8], "BAD_EVERY"), args.Length == 10 ? args[9] : null);
            Console.WriteLine(await new LoadGenerator(options).RunAsync(args[1]));
            return 0;
        case "report" when args.Length == 4:
            ResultsReport.Write(args[1], args[2], args[3]);
            return 0;
        default:
            Console.Error.WriteLine("usage: ServingLoad bodies|forward|parse|load|report ... (see benchmarks/ServingLoad/Program.cs)");
            return 2;
    }
}
catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException or FormatException)
{
    Console.Error.WriteLine($"ServingLoad {args[0]}: {e.Message}");
    return 1;
}

static int Number(string text, string what) =>
    int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int value)
        ? value : throw new FormatException($"{what} is '{text}', but must be a non-negative integer.");
