namespace Herald.Xds.Client;

/// <summary>Which ADS variant the client speaks.</summary>
public enum AdsMode
{
    StateOfTheWorld,
    Delta,
}
