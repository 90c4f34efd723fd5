namespace AllReduceNet.Collectives.Suite;

/// <summary>Which transport the suite runs on: it decides which AllReduce algorithms exist and which are refused.</summary>
public enum SuiteTransport { InProcess, Mpi }
