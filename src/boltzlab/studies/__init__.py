"""Studies: pipelines that compute, plot and write the results of a command or a paper reproduction."""
