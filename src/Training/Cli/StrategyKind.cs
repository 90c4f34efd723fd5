namespace AllReduceNet.Training.Cli;

/// <summary>The parallel training strategies.</summary>
internal enum StrategyKind
{
    Ddp,
    Zero,
    ParameterServer,
    Pipeline,
}
