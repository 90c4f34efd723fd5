using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace AllReduceNet.Serving.Tests;

/// <summary>A logging provider that keeps every entry with its structured fields and its scopes' fields, so tests can
/// read what the JSON console formatter would write.</summary>
internal sealed class CapturedLogs : ILoggerProvider, ISupportExternalScope
{
    private IExternalScopeProvider _scopes = new LoggerExternalScopeProvider();

    public ConcurrentQueue<Entry> Entries { get; } = new();

    public sealed record Entry(string Category, LogLevel Level, EventId Event, string Message,
        IReadOnlyDictionary<string, object?> Fields, IReadOnlyDictionary<string, object?> ScopeFields);

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

    public void Dispose() { }

    private sealed class Logger(CapturedLogs owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => owner._scopes.Push(state);

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var fields = new Dictionary<string, object?>();
            if (state is IEnumerable<KeyValuePair<string, object?>> pairs)
                foreach (var (key, value) in pairs) fields[key] = value;
            var scopeFields = new Dictionary<string, object?>();
            owner._scopes.ForEachScope((scope, into) =>
            {
                if (scope is IEnumerable<KeyValuePair<string, object?>> scopePairs)
                    foreach (var (key, value) in scopePairs) into[key] = value;
            }, scopeFields);
            owner.Entries.Enqueue(new Entry(category, logLevel, eventId, formatter(state, exception), fields, scopeFields));
        }
    }
}
