namespace Herald.Proxy.Http.Routing;

/// <summary>
/// Headers to add and remove for one direction of a route, already merged in Envoy's order
/// (route, then virtual host, then route configuration).
/// </summary>
internal sealed class HeaderMutations
{
    public HeaderMutations(IReadOnlyList<HeaderToAdd> add, IReadOnlyList<string> remove)
    {
        Add = add;
        Remove = remove;
    }

    public static HeaderMutations Empty { get; } = new([], []);

    public IReadOnlyList<HeaderToAdd> Add { get; }

    /// <summary>Lower-case names.</summary>
    public IReadOnlyList<string> Remove { get; }

    public bool IsEmpty => Add.Count == 0 && Remove.Count == 0;
}
