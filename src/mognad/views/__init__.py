"""Study-aware assemblers: read what one report needs from a study and call the analyses."""
