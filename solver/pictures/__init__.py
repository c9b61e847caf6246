"""What a person looks at: figures and movies of results, and the preview of a light program."""
