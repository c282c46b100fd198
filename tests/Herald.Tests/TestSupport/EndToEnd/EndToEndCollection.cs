using Xunit;

namespace Herald.Tests.TestSupport.EndToEnd;

/// <summary>
/// All end-to-end tests share the machine's CPU with real processes (herald, peers, load
/// generators): they run one at a time, and not beside other collections.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class EndToEndCollection
{
    public const string Name = "EndToEnd";
}
